/**
 * One BitTorrent wire connection (BEP 3) after the handshake: the four choke/interest flags, the
 * peer's bitfield, liveness (keep-alives out, an idle deadline in) and the dispatch of its
 * messages. Serving its requests is the Uploader's; our requests to it are OurRequests'.
 * Every protocol violation closes this connection only.
 */
import type net from 'node:net';
import { EventEmitter } from 'node:events';
import { Bitfield } from '../../bittorrent/bitfield.ts';
import type { SharedTorrent } from '../shared-torrent.ts';
import { BLOCK_SIZE, encode, MessageParser, WireError, type Message } from './messages.ts';
import { Uploader, type UploadContext } from './uploader.ts';
import { OurRequests } from './our-requests.ts';
import { corkForTick } from './tick-cork.ts';

const KEEPALIVE_MS = 60_000;
const DEFAULT_IDLE_TIMEOUT_MS = 180_000;

/** Our requests were discarded because the peer choked us (BEP 3, without the fast extension). */
export class ChokedError extends Error {}

export interface WireContext extends UploadContext {
  /** A peer that sent us nothing for this long is closed (our own writes do not count). */
  idleTimeoutMs?: number;
}

export class WireConnection extends EventEmitter {
  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  readonly peerHave: Bitfield;
  /** Bytes of blocks received from / sent to this peer (for the choker and reports). */
  downloaded = 0;
  uploaded = 0;
  lastUnchokedAt = 0;
  closed = false;
  private readonly parser: MessageParser;
  private readonly uploader: Uploader;
  private readonly ours = new OurRequests((m) => this.send(m));
  private keepAlive: NodeJS.Timeout;
  private readonly idleTimeoutMs: number;
  private idleTimer: NodeJS.Timeout;
  /** When the peer last sent us a byte (performance.now()). */
  private lastReceived = performance.now();

  constructor(
    readonly socket: net.Socket,
    readonly torrent: SharedTorrent,
    readonly peerId: Buffer,
    ctx: WireContext,
    private leftover: Buffer = Buffer.alloc(0),
  ) {
    super();
    this.setMaxListeners(0); // every block request waiting for an unchoke listens
    const { meta } = torrent;
    this.peerHave = new Bitfield(meta.pieceCount);
    this.parser = new MessageParser({ maxMessage: Math.max(BLOCK_SIZE + 9, 1 + Math.ceil(meta.pieceCount / 8), 128 * 1024) });
    socket.setNoDelay(true);
    // Idle means nothing *received*: socket.setTimeout would be reset by our own keep-alives.
    this.idleTimeoutMs = ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.idleTimer = setTimeout(() => this.checkIdle(), this.idleTimeoutMs);
    this.idleTimer.unref();
    this.uploader = new Uploader(this, ctx);
    socket.on('data', (chunk: Buffer) => {
      this.lastReceived = performance.now();
      this.onData(chunk);
    });
    socket.on('error', (e) => this.close(e.message));
    socket.on('close', () => this.close('connection closed'));
    this.keepAlive = setInterval(() => this.send({ type: 'keep-alive' }), KEEPALIVE_MS);
    this.keepAlive.unref();
  }

  /**
   * Send our bitfield and start reading. Separate from the constructor so that the owner's
   * listeners are in place before the first message (which may have come with the handshake).
   */
  start(): void {
    if (this.torrent.have.count > 0) this.send({ type: 'bitfield', bits: Buffer.from(this.torrent.have.bytes) });
    const first = this.leftover;
    this.leftover = Buffer.alloc(0);
    if (first.length) this.onData(first);
    this.socket.resume();
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  send(m: Message): void {
    if (this.closed) return;
    corkForTick(this.socket);
    this.socket.write(encode(m));
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    clearTimeout(this.idleTimer);
    this.uploader.close();
    this.socket.destroy();
    const err = new Error(`peer ${this.remote} closed: ${reason}`);
    this.ours.failAll(() => err);
    this.emit('close', reason);
  }

  private checkIdle(): void {
    const quiet = performance.now() - this.lastReceived;
    if (quiet >= this.idleTimeoutMs) return this.close(`sent nothing for ${Math.round(quiet / 1000)} s`);
    this.idleTimer = setTimeout(() => this.checkIdle(), this.idleTimeoutMs - quiet);
    this.idleTimer.unref();
  }

  // ---- our side ----

  choke(): void {
    if (this.amChoking) return;
    this.amChoking = true;
    this.uploader.clear(); // BEP 3: a choke discards the peer's pending requests
    this.send({ type: 'choke' });
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

  have(index: number): void {
    this.send({ type: 'have', index });
  }

  /** Ask for a block; resolves with exactly `length` bytes. */
  request(index: number, begin: number, length: number, signal: AbortSignal): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error(`peer ${this.remote} is closed`));
    if (this.peerChoking) return Promise.reject(new ChokedError(`peer ${this.remote} is choking us`));
    return this.ours.add(index, begin, length, signal);
  }

  // ---- their side ----

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let messages: Message[];
    try {
      messages = this.parser.push(chunk);
    } catch (e) {
      return this.close((e as Error).message);
    }
    for (const m of messages) {
      try {
        this.handle(m);
      } catch (e) {
        return this.close((e as Error).message);
      }
      if (this.closed) return;
    }
  }

  private handle(m: Message): void {
    const { meta } = this.torrent;
    switch (m.type) {
      case 'keep-alive':
      case 'port':
      case 'extended':
      case 'unknown':
        return;
      case 'choke':
        this.peerChoking = true;
        // Without the fast extension a choke drops our outstanding requests: fail them now.
        this.ours.failAll(() => new ChokedError(`peer ${this.remote} choked us`));
        this.emit('choke');
        return;
      case 'unchoke':
        this.peerChoking = false;
        this.emit('unchoke');
        return;
      case 'interested':
      case 'not-interested':
        this.peerInterested = m.type === 'interested';
        this.emit(m.type);
        return;
      case 'have':
        if (m.index >= meta.pieceCount) throw new WireError(`have for piece ${m.index} of ${meta.pieceCount}`);
        this.peerHave.set(m.index);
        this.emit('have', m.index);
        return;
      case 'bitfield':
        this.onBitfield(m.bits);
        return;
      case 'request':
        this.uploader.request(m.index, m.begin, m.length);
        return;
      case 'cancel':
        this.uploader.cancel(m.index, m.begin, m.length);
        return;
      case 'piece':
        if (this.ours.deliver(m.index, m.begin, m.block)) this.downloaded += m.block.length;
        return;
    }
  }

  private onBitfield(bytes: Buffer): void {
    const { pieceCount } = this.torrent.meta;
    let bits: Bitfield;
    try {
      bits = new Bitfield(pieceCount, bytes);
    } catch (e) {
      throw new WireError((e as Error).message);
    }
    for (let i = 0; i < pieceCount; i++) if (bits.has(i)) this.peerHave.set(i);
    this.emit('bitfield');
  }
}
