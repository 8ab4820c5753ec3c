/**
 * Connections served without a net.Socket until they turn out to need one. A client that opens a
 * connection for one request and reads the answer until the server closes it (a `Connection:
 * close` announce, as many BitTorrent clients send) is served on libuv's handle directly: its
 * first read, the answer, close. Building, ending and destroying a net.Socket for it cost the
 * tracker several times the announce itself (figures: bench/README.md). Any other connection
 * becomes a net.Socket at its first read, with the bytes read so far.
 *
 * Defences: the connection's slot is claimed at accept (refused: closed at once), a connection
 * that sends nothing (or does not read its answer) is closed after `idleTimeoutMs`, and bytes
 * arriving while its answer is computed are dropped (the answer closes the connection anyway).
 */
import type net from 'node:net';
import { acceptRaw, rawClose, rawPeerAddress, rawStartReading, rawWrite, socketFromRaw, type RawReader, type RawTcp, type UserBufferRead } from './node-internals.ts';

export type ReleaseSlot = () => void;

export interface RawAcceptOptions {
  /** Every connection's reads land here, one at a time (each is served before the next). */
  buffer: Buffer;
  /** A slot for a connection from `address` until it closes, or null: closed unanswered. */
  claim(address: string | undefined): ReleaseSlot | null;
  /** A connection's first bytes: a view of `buffer`, valid during the call only. */
  onFirstRead(conn: RawConnection, chunk: Buffer): void;
  /** The reads of a connection turned into a socket (net.Socket's onread callback, into `buffer`). */
  onSocketRead: UserBufferRead;
  /** Closed when nothing came in or went out for this long (and no answer is being computed). */
  idleTimeoutMs: number;
}

export interface RawAcceptor {
  /** False until the server listens, and on a Node without the mechanism (sockets as usual). */
  readonly active: boolean;
  /** Close the connections idle for too long. */
  sweep(now: number): void;
  /** Close every connection still served raw. */
  destroyAll(): void;
}

/** Serve `server`'s connections raw from its 'listening' on, where this Node allows it. */
export function attachRawAccept(server: net.Server, opts: RawAcceptOptions): RawAcceptor {
  const live = new Set<RawConnection>();
  const acceptor = {
    active: false,
    sweep(now: number) {
      for (const c of live) c.checkIdle(now);
    },
    destroyAll() {
      for (const c of live) c.close();
    },
  };
  server.on('listening', () => {
    acceptor.active = acceptRaw(server, (raw) => {
      const address = rawPeerAddress(raw);
      const release = opts.claim(address);
      if (!release) return rawClose(raw);
      const conn = new RawConnection(raw, address, release, server, opts, live);
      if (!rawStartReading(raw, opts.buffer, conn)) conn.close();
    });
  });
  return acceptor;
}

export class RawConnection implements RawReader {
  private state: 'reading' | 'answering' | 'writing' | 'closed' | 'socket' = 'reading';
  private lastActive = Date.now();

  constructor(
    private readonly raw: RawTcp,
    /** The peer's address at accept. */
    readonly address: string | undefined,
    private readonly release: ReleaseSlot,
    private readonly server: net.Server,
    private readonly opts: RawAcceptOptions,
    private readonly live: Set<RawConnection>,
  ) {
    live.add(this);
  }

  onRawRead(nread: number): void {
    if (nread < 0) return this.close();
    if (nread === 0) return; // libuv's "nothing after all" (EAGAIN), as net.Socket ignores it
    // Only the first read is the owner's: later ones arrive while its answer is on its way.
    if (this.state !== 'reading') return;
    this.lastActive = Date.now();
    this.opts.onFirstRead(this, this.opts.buffer.subarray(0, nread));
  }

  /** The answer is being computed: no idle deadline meanwhile, later bytes are dropped. */
  hold(): void {
    if (this.state === 'reading') this.state = 'answering';
  }

  /** Send `answer`, then close (at once when it is all in the kernel's buffer, else once it is). */
  answerAndClose(answer: Buffer): void {
    if (this.state !== 'reading' && this.state !== 'answering') return;
    this.state = 'writing';
    this.lastActive = Date.now();
    if (rawWrite(this.raw, answer, () => this.close()) !== 'queued') this.close();
  }

  /**
   * This connection as a net.Socket, reading on through `onSocketRead`; its slot is released when
   * the socket closes. Call during onFirstRead only (its bytes are the caller's to replay).
   */
  toSocket(): net.Socket {
    this.state = 'socket';
    this.live.delete(this);
    const socket = socketFromRaw(this.server, this.raw, this.opts.buffer, this.opts.onSocketRead);
    socket.once('close', this.release);
    return socket;
  }

  close(): void {
    if (this.state === 'closed' || this.state === 'socket') return;
    this.state = 'closed';
    this.live.delete(this);
    rawClose(this.raw);
    this.release();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  checkIdle(now: number): void {
    if (this.state !== 'answering' && now - this.lastActive > this.opts.idleTimeoutMs) this.close();
  }
}
