/**
 * One BitTorrent wire connection (BEP 3) after the handshake: the four choke/interest flags, what
 * the peer holds, liveness (keep-alives out, an idle deadline in) and the dispatch of its
 * messages, with the fast extension (BEP 6) and the extension protocol (BEP 10, BEP 21
 * upload_only) when both sides announce them. Serving its requests is the Uploader's; our
 * requests to it are OurRequests'. Every protocol violation closes this connection only.
 */
import { EventEmitter } from 'node:events';
import { normalizeAddress } from '../../bittorrent/address.ts';
import type { SharedTorrent } from '../shared-torrent.ts';
import { BLOCK_SIZE, encode, hasFeature, MessageParser, WireError, type Message } from './messages.ts';
import { Uploader, MAX_PEER_REQUESTS } from './uploader.ts';
import { OurRequests, type BlockRequest } from './our-requests.ts';
import { readChunks } from './socket-reads.ts';
import { PeerPieces } from './peer-pieces.ts';
import { FastLink } from './fast.ts';
import { ExtensionLink } from './extension-link.ts';
import type { PeerSocket } from './peer-socket.ts';
import { ChokedError, type WireContext, type WirePeer } from './wire-types.ts';
import { Liveness } from './liveness.ts';
import { corkForTick } from './tick-cork.ts';

const DEFAULT_IDLE_TIMEOUT_MS = 180_000;

export { ChokedError, type WireContext, type WirePeer } from './wire-types.ts';

export class WireConnection extends EventEmitter {
  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  readonly extended: boolean; // both sides speak BEP 10
  /** BEP 6 when both sides speak it: allowed-fast both ways, rejects. */
  readonly fastLink: FastLink;
  readonly pieces: PeerPieces;
  /** BEP 10 extensions on this connection (and BEP 21: does the peer only upload?). */
  readonly ext = new ExtensionLink((m) => this.send(m), (yes) => this.emit('upload-only', yes), () => this.torrent.meta.rawInfo);
  /** BEP 16: pieces a super-seeding torrent offered this peer (only these are served). */
  readonly offered = new Set<number>();
  /** Set while a downloader uses this peer: interest is declared only then, and only for pieces we lack. */
  downloading = false;
  downloaded = 0; // bytes of blocks from / to this peer (for the choker and reports)
  uploaded = 0;
  lastUnchokedAt = 0;
  closed = false;
  readonly socket: PeerSocket;
  readonly torrent: SharedTorrent;
  readonly peerId: Buffer;
  /** The remote address, taken at once: a destroyed socket forgets it. */
  readonly address: string;
  private readonly remoteLabel: string;
  private readonly parser: MessageParser;
  private readonly uploader: Uploader;
  private readonly ours = new OurRequests((m) => this.send(m), (n) => (this.downloaded += n));
  private readonly liveness: Liveness;
  private leftover: Buffer;

  constructor(
    peer: WirePeer,
    private readonly ctx: WireContext,
  ) {
    super();
    this.setMaxListeners(0); // every block request waiting for an unchoke listens
    ({ socket: this.socket, torrent: this.torrent, peerId: this.peerId } = peer);
    this.leftover = peer.leftover ?? Buffer.alloc(0);
    this.fastLink = new FastLink(hasFeature(peer.reserved, 'fast'));
    this.extended = hasFeature(peer.reserved, 'extensions');
    this.address = normalizeAddress(this.socket.remoteAddress);
    this.remoteLabel = `${this.socket.remoteAddress}:${this.socket.remotePort}`;
    const { meta } = this.torrent;
    this.pieces = new PeerPieces(meta.pieceCount, this.torrent.have);
    this.parser = new MessageParser({ maxMessage: Math.max(BLOCK_SIZE + 9, 1 + Math.ceil(meta.pieceCount / 8), 128 * 1024), blocks: this.ours });
    this.socket.setNoDelay?.(true);
    const idleMs = ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.liveness = new Liveness(idleMs, () => this.send({ type: 'keep-alive' }), (s) => this.close(`sent nothing for ${s} s`));
    this.uploader = new Uploader(this, ctx);
    readChunks(this.socket, (chunk) => this.onData(chunk));
    this.socket.on('error', (e) => this.close(e.message));
    this.socket.on('close', () => this.close('connection closed'));
  }

  get fast(): boolean {
    return this.fastLink.enabled;
  }
  get peerHave() {
    return this.pieces.have;
  }

  /**
   * Say what we hold and start reading. Separate from the constructor so that the owner's
   * listeners are in place before the first message (which may have come with the handshake).
   */
  start(): void {
    const { have, superSeeding } = this.torrent;
    if (superSeeding) {
      if (this.fast) this.send({ type: 'have-none' }); // BEP 16: what we hold stays hidden
    } else if (this.fast && have.complete) this.send({ type: 'have-all' });
    else if (this.fast && have.count === 0) this.send({ type: 'have-none' });
    else if (have.count > 0) this.send({ type: 'bitfield', bits: Buffer.from(have.bytes) });
    if (this.extended) this.ext.sendHandshake({ uploadOnly: have.complete, reqq: MAX_PEER_REQUESTS, port: this.ctx.listenPort?.(), privateTorrent: this.torrent.meta.private }, this.address);
    const first = this.leftover;
    this.leftover = Buffer.alloc(0);
    if (first.length) this.onData(first);
    this.socket.resume();
  }

  get remote(): string {
    return this.remoteLabel;
  }

  send(m: Message): void {
    if (this.closed) return;
    corkForTick(this.socket);
    this.socket.write(encode(m));
  }

  /** Close; `graceful` lets what we wrote (a last HAVE) reach the peer first, within 2 s. */
  close(reason: string, graceful = false): void {
    if (this.closed) return;
    this.closed = true;
    this.liveness.stop();
    this.fastLink.stop();
    this.uploader.close();
    if (graceful) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 2000).unref();
    } else {
      this.socket.destroy();
    }
    const err = new Error(`peer ${this.remote} closed: ${reason}`);
    this.ours.failAll(() => err);
    this.emit('close', reason);
  }

  // ---- our side ----
  choke(): void {
    if (this.amChoking) return;
    this.amChoking = true;
    this.send({ type: 'choke' });
    this.uploader.choked(); // BEP 3 drops the peer's pending requests; BEP 6 rejects each
  }

  unchoke(): void {
    if (!this.amChoking) return;
    this.amChoking = false;
    this.lastUnchokedAt = Date.now();
    this.send({ type: 'unchoke' });
  }

  interested(yes: boolean): void {
    if (this.amInterested === yes) return;
    this.amInterested = yes;
    this.send({ type: yes ? 'interested' : 'not-interested' });
  }

  /** Start or stop downloading from this peer: interest follows (BEP 3: only for pieces we lack). */
  setDownloading(yes: boolean): void {
    this.downloading = yes;
    this.updateInterest();
  }

  private updateInterest(): void {
    this.interested(this.downloading && this.pieces.wantsAny());
  }

  /** BEP 16: offer the peer piece `index` (a HAVE); a super-seeding torrent serves only offered pieces. */
  offer(index: number): void {
    this.offered.add(index);
    this.send({ type: 'have', index });
  }

  /** We verified piece `index`: tell the peer, and lose interest if it has nothing else for us. */
  have(index: number): void {
    this.send({ type: 'have', index });
    if (this.amInterested && this.peerHave.has(index)) this.updateInterest();
  }

  /** May we ask this peer for `piece` now (unchoked, or an allowed-fast piece while choked)? */
  mayRequest(piece: number): boolean {
    return !this.closed && this.peerHave.has(piece) && (!this.peerChoking || this.fastLink.received.has(piece));
  }

  /** Ask for a block, its bytes to go straight into `r.into` (see OurRequests); throws ChokedError, or once closed. */
  request(r: BlockRequest): void {
    if (this.closed) throw new Error(`peer ${this.remote} is closed`);
    if (this.peerChoking && !this.fastLink.received.has(r.index)) throw new ChokedError(`peer ${this.remote} is choking us`);
    this.ours.send(r);
  }

  /** Withdraw a request still pending (a cancel goes out); it is not settled. */
  withdraw(r: BlockRequest): void {
    this.ours.withdraw(r);
  }

  // ---- their side ----
  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.liveness.received();
    try {
      this.parser.feed(chunk, this.onMessage);
    } catch (e) {
      this.close((e as Error).message);
    }
  }

  /** Messages in order (blocks go straight into their pieces), until one closes the connection. */
  private readonly onMessage = (m: Message): boolean => {
    this.handle(m);
    return !this.closed;
  };

  private handle(m: Message): void {
    switch (m.type) {
      case 'keep-alive':
      case 'port':
      case 'unknown':
        return;
      case 'choke':
        return this.onChoke();
      case 'unchoke':
        this.peerChoking = false;
        this.fastLink.stop();
        this.emit('unchoke');
        return;
      case 'interested':
      case 'not-interested':
        this.peerInterested = m.type === 'interested';
        this.emit(m.type);
        return;
      case 'have':
        if (this.pieces.add(m.index) && this.downloading) this.interested(true);
        this.emit('have', m.index);
        return;
      case 'bitfield':
      case 'have-all':
      case 'have-none':
        return this.onPieceList(m);
      case 'request':
        return this.uploader.request(m.index, m.begin, m.length);
      case 'cancel':
        return this.uploader.cancel(m.index, m.begin, m.length);
      case 'piece':
        if (this.ours.deliver(m.index, m.begin, m.block)) this.downloaded += m.block.length;
        return;
      case 'reject':
        this.needFast(m.type);
        this.ours.reject(m.index, m.begin, m.length, () => new ChokedError(`peer ${this.remote} rejected a request`));
        return;
      case 'allowed-fast':
        return this.onAllowedFast(m.index);
      case 'suggest':
        this.needFast(m.type);
        this.checkIndex(m.index); // a hint only: rarest first decides
        return;
      case 'extended':
        if (this.extended) this.ext.receive(m.id, m.payload); // not negotiated: ignored like an unknown id
        return;
    }
  }

  private needFast(what: string): void {
    if (!this.fast) throw new WireError(`${what} without the fast extension`);
  }

  private checkIndex(index: number): void {
    if (index >= this.torrent.meta.pieceCount) throw new WireError(`piece ${index} of ${this.torrent.meta.pieceCount}`);
  }

  private onChoke(): void {
    this.peerChoking = true;
    this.emit('choke');
    this.fastLink.choked(() => this.ours.failAll(() => new ChokedError(`peer ${this.remote} choked us`), (i) => this.fastLink.received.has(i)));
  }

  /** The peer's first word on what it holds: a bitfield, or (BEP 6) have_all / have_none. */
  private onPieceList(m: Message & { type: 'bitfield' | 'have-all' | 'have-none' }): void {
    if (m.type !== 'bitfield') this.needFast(m.type);
    // Some clients (aria2c) send have_none and then a bitfield: later lists add to the first.
    if (m.type === 'bitfield') this.pieces.setBitfield(m.bits);
    else if (m.type === 'have-all') this.pieces.setAll();
    this.updateInterest();
    if (!this.pieces.announced) this.grantAllowedFast();
    this.pieces.announced = true;
    this.emit('bitfield');
  }

  /** BEP 6: a peer with (almost) nothing may fetch a few pieces while we choke it (not from a super-seeder). */
  private grantAllowedFast(): void {
    if (this.torrent.superSeeding) return;
    const { infoHash } = this.torrent.meta;
    for (const index of this.fastLink.grant(this.address, infoHash, this.torrent.have, this.peerHave.count)) this.send({ type: 'allowed-fast', index });
  }

  private onAllowedFast(index: number): void {
    this.needFast('allowed_fast');
    this.checkIndex(index);
    if (this.fastLink.receive(index) && this.peerChoking) this.emit('allowed-fast', index);
  }
}
