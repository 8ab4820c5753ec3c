/**
 * One BitTorrent wire connection (BEP 3) after the handshake: the four choke/interest flags, the
 * peer's bitfield, serving its requests from our piece store (bounded queue, rate-capped), and
 * our own requests to it as promises. Every protocol violation closes this connection only.
 */
import type net from 'node:net';
import { EventEmitter } from 'node:events';
import { Bitfield } from '../../bittorrent/bitfield.ts';
import type { SharedTorrent, UploadCounter } from '../http-api.ts';
import type { RateLimiter } from '../../net/rate-limiter.ts';
import { pieceSize } from '../../metainfo/metainfo.ts';
import { BLOCK_SIZE, encode, MessageParser, WireError, type Message } from './messages.ts';
import { RequestQueue } from './request-queue.ts';
import { SendWatchdog } from '../send-watchdog.ts';

/** Outstanding requests a peer may have with us: libtorrent keeps up to 500, so well above. */
export const MAX_PEER_REQUESTS = 2000;
const KEEPALIVE_MS = 60_000;

/** Our requests were discarded because the peer choked us (BEP 3, without the fast extension). */
export class ChokedError extends Error {}

export interface WireContext {
  counter: UploadCounter;
  limiter?: RateLimiter;
  /** A peer that sent us nothing for this long is closed (our own writes do not count). */
  idleTimeoutMs?: number;
  /** A peer that takes none of our bytes for this long while we have some for it is closed. */
  sendTimeoutMs?: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 180_000;
const DEFAULT_SEND_TIMEOUT_MS = 30_000;

interface Pending {
  index: number;
  begin: number;
  length: number;
  resolve(b: Buffer): void;
  reject(e: Error): void;
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
  private readonly incoming: RequestQueue;
  private serving = false;
  private readonly pending = new Map<string, Pending>();
  private keepAlive: NodeJS.Timeout;
  /** Aborts on close: withdraws a wait for upload budget. */
  private readonly closing = new AbortController();
  private readonly watchdog: SendWatchdog;
  private readonly idleTimeoutMs: number;
  private idleTimer: NodeJS.Timeout;
  /** When the peer last sent us a byte (performance.now()). */
  private lastReceived = performance.now();

  constructor(
    readonly socket: net.Socket,
    readonly torrent: SharedTorrent,
    readonly peerId: Buffer,
    private readonly ctx: WireContext,
    private leftover: Buffer = Buffer.alloc(0),
  ) {
    super();
    this.setMaxListeners(0); // every block request waiting for an unchoke listens
    const { meta } = torrent;
    this.peerHave = new Bitfield(meta.pieceCount);
    this.parser = new MessageParser({ maxMessage: Math.max(BLOCK_SIZE + 9, 1 + Math.ceil(meta.pieceCount / 8), 128 * 1024) });
    this.incoming = new RequestQueue(meta.pieceLength);
    socket.setNoDelay(true);
    // Idle means nothing *received*: socket.setTimeout would be reset by our own keep-alives.
    this.idleTimeoutMs = ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.idleTimer = setTimeout(() => this.checkIdle(), this.idleTimeoutMs);
    this.idleTimer.unref();
    this.watchdog = new SendWatchdog(ctx.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS, () => this.close('took none of our data for too long'));
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
    if (!this.closed) this.socket.write(encode(m));
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    clearTimeout(this.idleTimer);
    this.watchdog.idle();
    this.closing.abort();
    this.socket.destroy();
    const err = new Error(`peer ${this.remote} closed: ${reason}`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.incoming.clear();
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
    this.incoming.clear(); // BEP 3: a choke discards the peer's pending requests
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
    const key = `${index}:${begin}`;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (this.pending.get(key) === entry) {
          this.pending.delete(key);
          this.send({ type: 'cancel', index, begin, length });
        }
        reject(new Error('request cancelled'));
      };
      const entry: Pending = {
        index,
        begin,
        length,
        resolve: (b) => {
          signal.removeEventListener('abort', onAbort);
          resolve(b);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      if (signal.aborted) return reject(new Error('request cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.get(key)?.reject(new Error('request replaced'));
      this.pending.set(key, entry);
      this.send({ type: 'request', index, begin, length });
    });
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
        for (const p of this.pending.values()) p.reject(new ChokedError(`peer ${this.remote} choked us`));
        this.pending.clear();
        this.emit('choke');
        return;
      case 'unchoke':
        this.peerChoking = false;
        this.emit('unchoke');
        return;
      case 'interested':
        this.peerInterested = true;
        this.emit('interested');
        return;
      case 'not-interested':
        this.peerInterested = false;
        this.emit('not-interested');
        return;
      case 'have':
        if (m.index >= meta.pieceCount) throw new WireError(`have for piece ${m.index} of ${meta.pieceCount}`);
        this.peerHave.set(m.index);
        this.emit('have', m.index);
        return;
      case 'bitfield': {
        let bits: Bitfield;
        try {
          bits = new Bitfield(meta.pieceCount, m.bits);
        } catch (e) {
          throw new WireError((e as Error).message);
        }
        for (let i = 0; i < meta.pieceCount; i++) if (bits.has(i)) this.peerHave.set(i);
        this.emit('bitfield');
        return;
      }
      case 'request':
        this.onRequest(m.index, m.begin, m.length);
        return;
      case 'cancel':
        this.incoming.cancel(m.index, m.begin, m.length);
        return;
      case 'piece': {
        const key = `${m.index}:${m.begin}`;
        const p = this.pending.get(key);
        if (!p || p.length !== m.block.length) return; // unrequested or cancelled: ignore
        this.pending.delete(key);
        this.downloaded += m.block.length;
        p.resolve(m.block);
        return;
      }
    }
  }

  private onRequest(index: number, begin: number, length: number): void {
    const { meta, have } = this.torrent;
    if (index >= meta.pieceCount) throw new WireError(`request for piece ${index} of ${meta.pieceCount}`);
    if (length === 0 || length > BLOCK_SIZE) throw new WireError(`request of ${length} bytes (more than 16 KiB)`);
    if (begin + length > pieceSize(meta, index)) throw new WireError(`request past the end of piece ${index}`);
    if (this.amChoking || !have.has(index)) return; // not allowed now, or not ours to give: drop it
    if (this.incoming.size >= MAX_PEER_REQUESTS) throw new WireError(`more than ${MAX_PEER_REQUESTS} outstanding requests`);
    if (this.incoming.push(index, begin, length)) void this.serve();
  }

  /** Send queued blocks one at a time (bounded memory: one block in hand). */
  private async serve(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    try {
      for (let r = this.incoming.shift(); r && !this.closed; r = this.incoming.shift()) {
        // Budget is spent just before the block is written; a close withdraws the wait.
        if (this.ctx.limiter && !(await this.ctx.limiter.take(r.length, this.closing.signal))) break;
        if (this.closed || this.amChoking) break;
        const block = await this.torrent.store.read(r.index * this.torrent.meta.pieceLength + r.begin, r.length);
        this.send({ type: 'piece', index: r.index, begin: r.begin, block });
        this.uploaded += r.length;
        this.ctx.counter.uploaded += r.length;
        // Let the socket drain before reading more from disk; a peer that takes nothing is closed.
        if (this.socket.writableNeedDrain) await this.drained();
      }
    } catch (e) {
      this.close(`cannot serve: ${(e as Error).message}`);
    } finally {
      this.serving = false;
    }
  }

  private drained(): Promise<void> {
    this.watchdog.waiting();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        this.watchdog.idle();
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}
