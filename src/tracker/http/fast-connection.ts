/**
 * One connection of the tracker's fast path, over a Transport (a libuv handle, or a net.Socket
 * where this Node has no raw accept): its plain announce and scrape requests are answered in
 * order, pipelined or not; at the first request it does not take, the connection and the bytes
 * read so far go to Node's HTTP server (which answers anything unusual as it always does).
 *
 * Defences: a head must be complete within `headersTimeoutMs`, an idle connection is closed after
 * `idleTimeoutMs` (both by the server's sweep, checkDeadline), heads over `maxHeadBytes` go to
 * Node (which answers 431), and a client that does not read its answers is paused: bounded
 * buffering, pipelined or not.
 */
import type http from 'node:http';
import type { Transport, TransportOwner } from '../../net/transport.ts';
import { httpAnswer, INTERNAL_ERROR } from './http-answer.ts';
import { hasBareLf, mayBeSimple, parseSimpleRequest, type SimpleRequest } from './fast-request.ts';

export interface FastConnectionOptions {
  /** The answer's body: at once, or later (answers still go out in request order). */
  answer(req: SimpleRequest, remoteAddress: string | undefined): Buffer | Promise<Buffer>;
  /** Takes over every connection the fast path does not serve to the end. */
  fallback: http.Server;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeadBytes: number;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** Bytes a client may send ahead while its previous request is being answered. */
const MAX_AHEAD = 64 * 1024;

/**
 * Connections with answers to write, written together once the event loop has served every
 * connection that was ready to read (setImmediate: after the poll phase). Answers written in one
 * burst, rather than each inside its read callback, cost the tracker and its clients fewer
 * wake-ups per request (figures: bench/README.md); pipelined answers go out in one write.
 */
const toFlush: FastConnection[] = [];
function flushAll(): void {
  const batch = toFlush.splice(0);
  for (const c of batch) c.flush();
}
export class FastConnection implements TransportOwner {
  private pending: Buffer | null = null;
  /** Answers not yet written (flush), in order; once `done`, the last of them closes the connection. */
  private outbox: Buffer[] = [];
  /** An answer is being computed: later requests wait (answers go out in order). */
  private busy = false;
  private waitingDrain = false;
  /** The client has closed its side: close once every request it sent is answered. */
  private ending = false;
  private done = false;
  /** When the first byte of the unfinished request arrived (0: none pending). */
  private headStarted = 0;
  /** Last time bytes came in or an answer went out. */
  private lastActive = Date.now();

  constructor(
    private readonly transport: Transport,
    private readonly opts: FastConnectionOptions,
    private readonly live: Set<FastConnection>,
  ) {
    live.add(this);
  }

  destroy(): void {
    this.transport.destroy();
  }

  checkDeadline(now: number): void {
    // Only a head still arriving counts: not one waiting for its answer or for the client to read.
    if (this.headStarted !== 0 && !this.busy && !this.waitingDrain && now - this.headStarted > this.opts.headersTimeoutMs) this.transport.destroy();
    // Idle: nothing read and nothing answered for that long (Node's socket timeout, in effect).
    else if (!this.busy && now - this.lastActive > this.opts.idleTimeoutMs) this.transport.destroy();
  }

  onClose(): void {
    this.done = true;
    this.outbox = [];
    this.live.delete(this);
  }

  /** The client sent all it will: answer what is being computed, then close. */
  onEnd(): void {
    this.ending = true;
    if (!this.busy && !this.waitingDrain && !this.done) this.next();
  }

  onDrain(): void {
    this.waitingDrain = false;
    this.lastActive = Date.now();
    if (this.pending) this.headStarted = Date.now();
    if (!this.ending) this.transport.resume();
    this.next();
  }

  /** Serve what was read; keep a copy of what is left of it when it is a view of a shared buffer. */
  onData(chunk: Buffer, shared: boolean): void {
    if (this.done) return;
    this.lastActive = Date.now();
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.headStarted === 0) this.headStarted = this.lastActive;
    if (this.busy || this.waitingDrain) {
      if (this.pending.length > MAX_AHEAD) this.transport.pause();
    } else this.next();
    if (shared && this.pending && this.pending.buffer === chunk.buffer) this.pending = Buffer.from(this.pending);
  }

  /** Serve the requests waiting in `pending`, one at a time. */
  private next(): void {
    while (!this.busy && !this.waitingDrain && !this.done && this.pending) {
      const buf = this.pending;
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        // Incomplete: keep reading unless it cannot be ours or is too big (Node answers 431).
        if (!mayBeSimple(buf) || buf.length > this.opts.maxHeadBytes || hasBareLf(buf)) return this.handOff();
        break;
      }
      const req = end <= this.opts.maxHeadBytes ? parseSimpleRequest(buf.toString('latin1', 0, end)) : null;
      if (!req) return this.handOff();
      this.pending = end + 4 < buf.length ? buf.subarray(end + 4) : null;
      this.headStarted = this.pending ? Date.now() : 0;
      let answer: Buffer | Promise<Buffer>;
      try {
        answer = this.opts.answer(req, this.transport.remoteAddress);
      } catch (err) {
        answer = Promise.reject(err);
      }
      // Answered at once: send it and go on in this loop (no recursion, however many requests one
      // read holds).
      if (Buffer.isBuffer(answer)) this.send(200, answer, req.close);
      else this.whenAnswered(answer, req.close);
    }
    // The client has closed its side and every request it sent is answered (a head cut short
    // will never end).
    if (this.ending && !this.busy && !this.waitingDrain && !this.done) this.close();
  }

  private whenAnswered(answer: Promise<Buffer>, close: boolean): void {
    this.busy = true;
    answer.then(
      (body) => this.respond(200, body, close),
      (err: unknown) => {
        console.error('tracker error:', err);
        this.respond(500, INTERNAL_ERROR, true);
      },
    );
  }

  /** A later answer is ready: send it, then serve what came in meanwhile. */
  private respond(status: 200 | 500, body: Buffer, close: boolean): void {
    this.busy = false;
    if (this.done) return;
    this.send(status, body, close);
    if (this.done || this.waitingDrain) return;
    if (!this.ending) this.transport.resume();
    this.next();
  }

  /** Queue an answer for this event loop turn's flush; one that closes goes now (nothing can follow it). */
  private send(status: 200 | 500, body: Buffer, close: boolean): void {
    this.lastActive = Date.now();
    this.outbox.push(httpAnswer(status, body, close));
    if (close) {
      this.done = true;
      return this.flush();
    }
    if (this.outbox.length > 1) return; // queued already
    if (toFlush.length === 0) setImmediate(flushAll);
    toFlush.push(this);
  }

  /** Write the queued answers, in one write. */
  flush(): void {
    const data = this.takeOutbox();
    if (!data) return; // closed, or written already (a hand-off)
    // Answers left when done: the connection ends with them (hand-off and close took theirs).
    if (this.done) return this.transport.end(data);
    if (!this.transport.write(data) && !this.done) {
      // The client is not reading: stop reading its requests until it catches up.
      this.waitingDrain = true;
      this.transport.pause();
    }
  }

  private takeOutbox(): Buffer | null {
    const out = this.outbox;
    if (out.length === 0) return null;
    this.outbox = [];
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** Close once what is answered has gone out. */
  private close(): void {
    this.done = true;
    if (this.outbox.length === 0) this.transport.end(); // else the flush ends it
  }

  /** Give the connection, with the bytes read so far, to Node's HTTP server. */
  private handOff(): void {
    this.done = true;
    this.live.delete(this);
    // The answers so far go first (a write still in progress stays ahead of the socket's writes).
    const answered = this.takeOutbox();
    if (answered) this.transport.write(answered);
    const socket = this.transport.toSocket();
    if (this.pending) socket.unshift(Buffer.from(this.pending));
    this.pending = null;
    this.opts.fallback.emit('connection', socket);
    socket.resume();
  }
}
