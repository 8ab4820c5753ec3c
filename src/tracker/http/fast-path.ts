/**
 * The tracker's front door: a `net.Server` that answers plain `GET /announce` and `GET /scrape`
 * requests straight off the socket, and hands every other connection (at the first request it
 * does not take) to Node's full HTTP server, which serves the rest of the tracker (Express:
 * /peers, 404s) and judges anything unusual.
 *
 * Why: per request, Node's `http` machinery (parser callbacks, IncomingMessage, ServerResponse,
 * header objects) costs more than the announce itself; and for a connection that carries one
 * `Connection: close` announce, so does a net.Socket: such a connection is served on libuv's
 * handle (src/net/raw-accept.ts) and never gets one (figures: bench/README.md).
 *
 * Defences, the same as the HTTP server's: a request head must be complete within
 * `headersTimeoutMs`, an idle keep-alive connection is closed after `idleTimeoutMs`, heads over
 * `maxHeadBytes` go to Node (which answers 431), and a client that does not read its answers is
 * paused (bounded buffering, pipelined or not). `admit` may refuse a connection at accept.
 */
import net from 'node:net';
import type http from 'node:http';
import { readIntoUserBuffer } from '../../net/node-internals.ts';
import { attachRawAccept, type RawConnection, type ReleaseSlot } from '../../net/raw-accept.ts';
import { httpAnswer, INTERNAL_ERROR } from './http-answer.ts';
import { hasBareLf, mayBeSimple, parseSimpleRequest, type SimpleRequest } from './fast-request.ts';

export interface FastPathOptions {
  /** The answer's body: at once, or later (answers still go out in request order). */
  answer(req: SimpleRequest, remoteAddress: string | undefined): Buffer | Promise<Buffer>;
  /** Takes over every connection the fast path does not serve to the end. */
  fallback: http.Server;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeadBytes: number;
  /**
   * Called at accept: false when the socket was refused (and destroyed). Absent: all are taken.
   * With `claim` (a slot for an address, before any socket exists), connections are accepted
   * raw where this Node allows it (connectionCap gives both).
   */
  admit?: ((socket: net.Socket) => boolean) & { claim?(address: string | undefined): ReleaseSlot | null };
  /** False: every connection gets a net.Socket at accept (the path of a Node without raw handles). */
  rawAccept?: boolean;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** Bytes a client may send ahead while its previous request is being answered. */
const MAX_AHEAD = 64 * 1024;

export interface FastPathServer {
  server: net.Server;
  /** Destroy every connection the fast path still owns (the fallback closes its own). */
  destroyConnections(): void;
}

export function createFastPathServer(opts: FastPathOptions): FastPathServer {
  const live = new Set<FastConnection>();
  // Reads of every connection of this server land here (see FastConnection's sharedReads).
  const shared = Buffer.allocUnsafeSlow(64 * 1024);
  const server = net.createServer({ noDelay: true }, (socket) => {
    if (opts.admit && !opts.admit(socket)) return;
    live.add(new FastConnection(socket, opts, live, shared, readIntoUserBuffer(socket, shared, onSharedRead)));
  });
  // Without `admit`, every connection is taken (a slot that is nothing to give back).
  const claim = opts.admit ? opts.admit.claim : (): ReleaseSlot => () => {};
  const raw =
    opts.rawAccept !== false && claim
      ? attachRawAccept(server, {
          buffer: shared,
          claim,
          idleTimeoutMs: opts.idleTimeoutMs,
          onSocketRead: onSharedRead,
          onFirstRead: (conn, chunk) => serveFirstRead(conn, chunk, opts, live, shared),
        })
      : undefined;
  // One sweep for every connection's head deadline (slowloris) and idle time, instead of a timer
  // per socket that every read and write would have to push back.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of live) c.checkDeadline(now);
    raw?.sweep(now);
  }, 1000);
  sweep.unref();
  server.on('close', () => clearInterval(sweep));
  return {
    server,
    destroyConnections() {
      for (const c of live) c.destroy();
      raw?.destroyAll();
    },
  };
}

/**
 * A raw connection's first bytes: a lone `Connection: close` request is answered and the
 * connection closed, without a socket; anything else makes it a socket and a FastConnection.
 */
function serveFirstRead(conn: RawConnection, chunk: Buffer, opts: FastPathOptions, live: Set<FastConnection>, shared: Buffer): void {
  const end = chunk.indexOf(HEAD_END);
  const req = end >= 0 && end <= opts.maxHeadBytes ? parseSimpleRequest(chunk.toString('latin1', 0, end)) : null;
  if (!req?.close) {
    const socket = conn.toSocket();
    socket.setNoDelay(true);
    const c = new FastConnection(socket, opts, live, shared, true);
    live.add(c);
    c.onSharedRead(chunk);
    return;
  }
  // Whatever follows the head is ignored: the answer closes the connection (as a socket's would).
  let answer: Buffer | Promise<Buffer>;
  try {
    answer = opts.answer(req, conn.address);
  } catch (err) {
    answer = Promise.reject(err);
  }
  if (Buffer.isBuffer(answer)) return conn.answerAndClose(httpAnswer(200, answer, true));
  conn.hold();
  answer.then(
    (body) => conn.answerAndClose(httpAnswer(200, body, true)),
    (err: unknown) => {
      console.error('tracker error:', err);
      conn.answerAndClose(httpAnswer(500, INTERNAL_ERROR, true));
    },
  );
}

/** The FastConnection of a socket: listeners shared by all sockets, none allocated per connection. */
const CONN = Symbol('fast-connection');
type OwnedSocket = net.Socket & { [CONN]: FastConnection };
function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[CONN].onData(chunk);
}
function onSharedRead(this: net.Socket, nread: number, shared: Buffer): boolean | undefined {
  const c = (this as OwnedSocket)[CONN];
  // After a hand-off, reads go into the stream, as 'data' (false: the stream is full, stop reading).
  if (c.handedOff) return this.push(Buffer.from(shared.subarray(0, nread)));
  c.onSharedRead(shared.subarray(0, nread));
}

/** `buf` itself, or a copy of it when it is a view of the shared read buffer `shared`. */
function owned(buf: Buffer, shared: Buffer): Buffer {
  return buf.buffer === shared.buffer ? Buffer.from(buf) : buf;
}
function onSocketError(this: OwnedSocket): void {
  this.destroy();
}
function onSocketClose(this: OwnedSocket): void {
  this[CONN].onClose();
}

class FastConnection {
  private pending: Buffer | null = null;
  /** An answer is being computed: later requests wait (answers go out in order). */
  private busy = false;
  private waitingDrain = false;
  private done = false;
  /** Given to Node's HTTP server: reads go into the socket's stream. */
  handedOff = false;
  /** When the first byte of the unfinished request arrived (0: none pending). */
  private headStarted = 0;
  /** Last time bytes came in or an answer went out. */
  private lastActive = Date.now();

  /**
   * @param sharedReads reads arrive through `onSharedRead`, into the buffer all of the server's
   * connections share, instead of 'data' events (a fresh allocation per read; figures:
   * bench/README.md). Safe because each read is served synchronously and whatever is kept is
   * copied out before returning.
   */
  constructor(
    private readonly socket: net.Socket,
    private readonly opts: FastPathOptions,
    private readonly live: Set<FastConnection>,
    private readonly shared: Buffer,
    sharedReads: boolean,
  ) {
    (socket as OwnedSocket)[CONN] = this;
    if (!sharedReads) socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  destroy(): void {
    this.socket.destroy();
  }

  checkDeadline(now: number): void {
    // Only a head still arriving counts: not one waiting for its answer or for the client to read.
    if (this.headStarted !== 0 && !this.busy && !this.waitingDrain && now - this.headStarted > this.opts.headersTimeoutMs) this.socket.destroy();
    // Idle: nothing read and nothing answered for that long (Node's socket timeout, in effect).
    else if (!this.busy && now - this.lastActive > this.opts.idleTimeoutMs) this.socket.destroy();
  }

  onClose(): void {
    this.done = true;
    this.live.delete(this);
  }

  /** A read into the shared buffer: serve it, then keep a copy of whatever is left over. */
  onSharedRead(chunk: Buffer): void {
    this.onData(chunk);
    if (this.pending) this.pending = owned(this.pending, this.shared);
  }

  onData(chunk: Buffer): void {
    if (this.done) return;
    this.lastActive = Date.now();
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.headStarted === 0) this.headStarted = Date.now();
    if (this.busy || this.waitingDrain) {
      if (this.pending.length > MAX_AHEAD) this.socket.pause();
      return;
    }
    this.next();
  }

  /** Serve the requests waiting in `pending`, one at a time. */
  private next(): void {
    while (!this.busy && !this.waitingDrain && !this.done && this.pending) {
      const buf = this.pending;
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        // Incomplete: keep reading unless it cannot be ours or is too big (Node answers 431).
        if (!mayBeSimple(buf) || buf.length > this.opts.maxHeadBytes || hasBareLf(buf)) this.handOff();
        return;
      }
      const req = end <= this.opts.maxHeadBytes ? parseSimpleRequest(buf.toString('latin1', 0, end)) : null;
      if (!req) {
        this.handOff();
        return;
      }
      this.pending = end + 4 < buf.length ? buf.subarray(end + 4) : null;
      this.headStarted = this.pending ? Date.now() : 0;
      let answer: Buffer | Promise<Buffer>;
      try {
        answer = this.opts.answer(req, this.socket.remoteAddress);
      } catch (err) {
        answer = Promise.reject(err);
      }
      if (Buffer.isBuffer(answer)) {
        // Answered at once: write it and go on with the next request in this loop (no recursion,
        // however many requests one chunk holds).
        this.send(200, answer, req.close);
        continue;
      }
      this.busy = true;
      answer.then(
        (body) => this.respond(200, body, req.close),
        (err: unknown) => {
          console.error('tracker error:', err);
          this.respond(500, INTERNAL_ERROR, true);
        },
      );
    }
  }

  /** A later answer is ready: send it, then serve what came in meanwhile. */
  private respond(status: 200 | 500, body: Buffer, close: boolean): void {
    this.busy = false;
    if (this.done) return;
    this.send(status, body, close);
    if (this.done || this.waitingDrain) return;
    this.socket.resume();
    this.next();
  }

  private send(status: 200 | 500, body: Buffer, close: boolean): void {
    this.lastActive = Date.now();
    const ok = this.socket.write(httpAnswer(status, body, close));
    if (close) {
      this.done = true;
      this.socket.end();
      return;
    }
    if (!ok) {
      // The client is not reading: stop reading its requests until it catches up.
      this.waitingDrain = true;
      this.socket.pause();
      this.socket.once('drain', () => {
        this.waitingDrain = false;
        this.lastActive = Date.now();
        if (this.pending) this.headStarted = Date.now();
        this.socket.resume();
        this.next();
      });
    }
  }

  /** Give the connection, with the bytes read so far, to Node's HTTP server. */
  private handOff(): void {
    const socket = this.socket;
    this.done = true;
    this.handedOff = true;
    this.live.delete(this);
    socket.off('data', onSocketData);
    socket.off('error', onSocketError);
    socket.off('close', onSocketClose);
    socket.pause();
    if (this.pending) socket.unshift(owned(this.pending, this.shared));
    this.pending = null;
    this.opts.fallback.emit('connection', socket);
    socket.resume();
  }
}
