/**
 * Connections served without a net.Socket: reads, writes and closes on libuv's handle directly,
 * as a Transport (src/net/transport.ts). Building a net.Socket, and each write through its
 * stream, cost the tracker more than the announce itself (figures: bench/README.md). A connection
 * becomes a net.Socket only when it is handed to another server (toSocket).
 *
 * Defences: the connection's slot is claimed at accept (refused: closed at once); the owner
 * pauses reading when the client does not read its answers.
 */
import type net from 'node:net';
import {
  acceptRaw,
  rawClose,
  rawPauseReading,
  rawPeerAddress,
  rawResumeReading,
  rawStartReading,
  rawWrite,
  socketFromRaw,
  type RawReader,
  type RawTcp,
  type UserBufferRead,
} from './node-internals.ts';
import type { Transport, TransportOwner } from './transport.ts';

export type ReleaseSlot = () => void;

export interface RawAcceptOptions {
  /** Every connection's reads land here, one at a time (each is served before the next). */
  buffer: Buffer;
  /** A slot for a connection from `address` until it closes, or null: closed unanswered. */
  claim(address: string | undefined): ReleaseSlot | null;
  /** A new connection: returns who hears its reads (they start after the call). */
  onAccept(conn: RawConnection): TransportOwner;
  /** The reads of a connection made a socket (net.Socket's onread callback, into `buffer`). */
  onSocketRead: UserBufferRead;
}

export interface RawAcceptor {
  /** False until the server listens, and on a Node without the mechanism (sockets as usual). */
  readonly active: boolean;
}

/** Serve `server`'s connections raw from its 'listening' on, where this Node allows it. */
export function attachRawAccept(server: net.Server, opts: RawAcceptOptions): RawAcceptor {
  const acceptor = { active: false };
  server.on('listening', () => {
    acceptor.active = acceptRaw(server, (raw) => {
      const address = rawPeerAddress(raw);
      const release = opts.claim(address);
      if (!release) return rawClose(raw);
      const conn = new RawConnection(raw, address, release, server, opts);
      conn.owner = opts.onAccept(conn);
      if (!rawStartReading(raw, opts.buffer, conn)) conn.destroy();
    });
  });
  return acceptor;
}

export class RawConnection implements Transport, RawReader {
  owner!: TransportOwner;
  private state: 'open' | 'ending' | 'closed' | 'socket' = 'open';

  constructor(
    private readonly raw: RawTcp,
    /** The peer's address at accept. */
    readonly remoteAddress: string | undefined,
    private readonly release: ReleaseSlot,
    private readonly server: net.Server,
    private readonly opts: RawAcceptOptions,
  ) {}

  onRawRead(nread: number): void {
    if (this.state !== 'open') return; // bytes after an answer that closes are dropped
    if (nread > 0) return this.owner.onData(this.opts.buffer.subarray(0, nread), true);
    // 0 is libuv's "nothing after all" (EAGAIN), as net.Socket ignores it; < 0 is EOF or an error.
    if (nread < 0) {
      rawPauseReading(this.raw);
      this.owner.onEnd();
    }
  }

  write(data: Buffer): boolean {
    if (this.state !== 'open') return false;
    const sent = rawWrite(this.raw, data, (ok) => (ok ? this.drained() : this.destroy()));
    if (sent === 'sent') return true;
    if (sent === 'failed') this.destroy();
    return false;
  }

  private drained(): void {
    if (this.state === 'open') this.owner.onDrain();
  }

  /**
   * Send `data` (if any), then close: at once when it is all in the kernel's buffer, else once it
   * is. Not while a write is queued (the owner waits for onDrain first).
   */
  end(data?: Buffer): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    rawPauseReading(this.raw);
    if (!data || rawWrite(this.raw, data, () => this.destroy()) !== 'queued') this.destroy();
  }

  pause(): void {
    if (this.state === 'open') rawPauseReading(this.raw);
  }

  resume(): void {
    if (this.state === 'open' && !rawResumeReading(this.raw)) this.destroy();
  }

  destroy(): void {
    if (this.state === 'closed' || this.state === 'socket') return;
    this.state = 'closed';
    rawClose(this.raw);
    this.release();
    this.owner.onClose();
  }

  /**
   * This connection as a paused net.Socket reading on through `onSocketRead`; its slot is released
   * when the socket closes. A raw write still in progress stays ahead of the socket's writes
   * (libuv keeps a stream's writes in order); its completion is then ignored here.
   */
  toSocket(): net.Socket {
    this.state = 'socket';
    const socket = socketFromRaw(this.server, this.raw, this.opts.buffer, this.opts.onSocketRead);
    socket.pause();
    socket.once('close', this.release);
    return socket;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }
}
