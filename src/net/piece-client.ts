/**
 * A minimal HTTP/1.1 client for one job: GET a body of a known length straight into a caller's
 * buffer. It is the client for our HTTP peers, their `/bitfield` and their `/piece` (where it
 * moves most of the bytes of a download): one PieceClient, so one connection pool, per peer.
 * Trackers and web seeds are any server (https, chunked, Range ignored): http-client.ts.
 *
 * `node:http` hands every socket read to JS as a fresh 64 KiB Buffer (memory outside the V8 heap,
 * freed only when a garbage collection finds its wrapper), and the body is then copied into the
 * piece. Here the socket reads through `net`'s `onread` option into buffers we choose: the
 * headers into a small per-connection buffer, the body directly into the destination, at its
 * offset. No allocation per read, no copy of the body.
 *
 * Hostile servers: headers are limited in size; the status must be the expected one and
 * Content-Length must equal the expected length (no chunked bodies); a read never extends past
 * the body, and a byte that arrives when no answer is expected closes the connection; silence
 * longer than the timeout fails the request, and so does an answer still incomplete at its
 * deadline (a trickle of bytes refreshes the silence timer, never the deadline). Any failure destroys the connection, so no later
 * read can land in a buffer the caller has since reused.
 */
import net from 'node:net';
import { hostPort } from '../bittorrent/address.ts';
import { parseResponseHead } from './http-head.ts';

export class PieceClientError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the server answered with one we do not take. */
    readonly status?: number,
    /** The connection ended or failed under us (not a timeout, not a bad answer). */
    readonly connectionLost = false,
  ) {
    super(message);
  }
}

const MAX_HEADER_BYTES = 16 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

export interface GetIntoOptions {
  /** Extra request headers (name: value). */
  headers?: Record<string, string>;
  /** Statuses whose body is taken (e.g. [206] or [200, 206]); others fail with their status. */
  okStatus: readonly number[];
  /** Timeout: the headers must arrive within this long of the request (connecting included), then no pause in the body this long. */
  timeoutMs: number;
  /** Optional: the whole answer must have arrived within this long of the request, however it trickles. */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Called after each read with the range of `into` just filled (in order, no gaps). */
  onData?(offset: number, length: number): void;
}

interface Job {
  into: Buffer;
  got: number;
  opts: GetIntoOptions;
  resolve(status: number): void;
  reject(e: Error): void;
}

/** One keep-alive connection; one request at a time. */
class Connection {
  readonly socket: net.Socket;
  private readonly head = Buffer.allocUnsafe(MAX_HEADER_BYTES);
  private headLength = 0;
  private job: Job | undefined;
  private status = 0;
  private inBody = false;
  private keepAlive = true;
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private onAbort: (() => void) | undefined;
  dead = false;
  /** Requests this connection carried. */
  uses = 0;

  constructor(host: string, port: number, private readonly onSettled: (c: Connection) => void) {
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: () => this.nextBuffer(),
        callback: (n) => {
          this.onRead(n);
          return true;
        },
      },
    });
    this.socket.on('error', (e) => this.kill(new PieceClientError(e.message, undefined, true)));
    this.socket.on('end', () => this.kill(new PieceClientError('connection closed by the peer', undefined, true)));
    this.socket.on('close', () => this.kill(new PieceClientError('connection closed', undefined, true)));
  }

  /** Where the next socket read goes: the rest of the body, or the header buffer. */
  private nextBuffer(): Uint8Array {
    const job = this.job;
    if (job && this.inBody) return job.into.subarray(job.got);
    // Headers (or, between requests, bytes nobody asked for): never more than the buffer holds.
    return this.head.subarray(this.headLength);
  }

  private onRead(n: number): void {
    const job = this.job;
    if (!job) {
      this.kill(new PieceClientError('unexpected bytes from the peer')); // nothing was asked
      return;
    }
    if (this.inBody) {
      this.timer?.refresh(); // headers must come whole within the timeout; the body, without a pause that long
      const at = job.got;
      job.got += n;
      job.opts.onData?.(at, n);
      if (job.got === job.into.length) this.finish();
      return;
    }
    this.headLength += n;
    this.parseHead(job);
  }

  private parseHead(job: Job): void {
    const end = this.head.subarray(0, this.headLength).indexOf(HEADER_END);
    if (end < 0) {
      if (this.headLength >= MAX_HEADER_BYTES) this.kill(new PieceClientError(`response headers longer than ${MAX_HEADER_BYTES} bytes`));
      return;
    }
    const head = parseResponseHead(this.head.toString('latin1', 0, end));
    if (typeof head === 'string') return this.kill(new PieceClientError(head));
    const { status, contentLength } = head;
    this.keepAlive = !head.close;
    if (!job.opts.okStatus.includes(status)) return this.kill(new PieceClientError(`HTTP ${status}`, status));
    if (head.chunked) return this.kill(new PieceClientError('chunked response where a Content-Length was expected'));
    if (contentLength !== job.into.length) {
      return this.kill(new PieceClientError(`response of ${contentLength ?? 'unknown'} bytes where ${job.into.length} were expected`));
    }
    this.status = status;
    // Body bytes that came with the headers: into the destination; anything past the body is a
    // protocol error (we never pipeline).
    const bodyStart = end + HEADER_END.length;
    const extra = this.headLength - bodyStart;
    if (extra > job.into.length) return this.kill(new PieceClientError('more bytes than the response holds'));
    this.headLength = 0;
    this.inBody = true;
    if (extra > 0) {
      this.head.copy(job.into, 0, bodyStart, bodyStart + extra);
      job.got = extra;
      job.opts.onData?.(0, extra);
    }
    if (job.got === job.into.length) this.finish();
  }

  private finish(): void {
    const job = this.job!;
    const status = this.status;
    this.detach();
    if (!this.keepAlive) this.kill(undefined);
    else this.onSettled(this); // back to the idle list
    job.resolve(status);
  }

  private detach(): void {
    const job = this.job;
    this.job = undefined;
    this.inBody = false;
    this.headLength = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.deadline);
    this.deadline = undefined;
    if (job && this.onAbort) job.opts.signal?.removeEventListener('abort', this.onAbort);
    this.onAbort = undefined;
  }

  /** Send one GET and read its body into `into`. */
  get(path: string, host: string, into: Buffer, opts: GetIntoOptions): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(new PieceClientError('connection closed'));
      if (opts.signal?.aborted) return reject(opts.signal.reason instanceof Error ? opts.signal.reason : new PieceClientError('aborted'));
      this.uses++;
      this.job = { into, got: 0, opts, resolve, reject };
      this.status = 0;
      this.timer = setTimeout(() => this.kill(new PieceClientError(`no data for ${opts.timeoutMs} ms`)), opts.timeoutMs);
      if (opts.deadlineMs !== undefined) {
        this.deadline = setTimeout(() => this.kill(new PieceClientError(`answer not complete within ${opts.deadlineMs} ms`)), opts.deadlineMs);
      }
      this.onAbort = () => this.kill(opts.signal!.reason instanceof Error ? opts.signal!.reason : new PieceClientError('aborted'));
      opts.signal?.addEventListener('abort', this.onAbort, { once: true });
      let req = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n`;
      for (const [k, v] of Object.entries(opts.headers ?? {})) req += `${k}: ${v}\r\n`;
      this.socket.write(req + '\r\n', 'latin1');
    });
  }

  /**
   * Close for good. The socket is destroyed at once, so no later read can land in a buffer of a
   * request that failed (its caller may reuse that buffer right away).
   */
  kill(error: Error | undefined): void {
    const job = this.job;
    this.detach();
    if (!this.dead) {
      this.dead = true;
      this.socket.destroy();
      this.onSettled(this);
    }
    job?.reject(error ?? new PieceClientError('connection closed', undefined, true));
  }
}

/** Keep-alive connections to one server, each carrying one request at a time. */
export class PieceClient {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private closed = false;
  private readonly hostHeader: string;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.hostHeader = hostPort(host, port);
  }

  /**
   * GET `path` and read exactly `into.length` body bytes into `into`; resolves with the status.
   * A request on a reused connection that the server had closed is retried once on a new one.
   */
  async getInto(path: string, into: Buffer, opts: GetIntoOptions): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new PieceClientError('client closed');
      const reused = this.idle.length > 0;
      const conn = this.idle.pop() ?? this.connect();
      let fresh = true;
      const onData = opts.onData;
      try {
        return await conn.get(path, this.hostHeader, into, {
          ...opts,
          onData: (o, n) => {
            fresh = false;
            onData?.(o, n);
          },
        });
      } catch (e) {
        // A keep-alive connection the server closed just as we sent: once more on a new one.
        if (reused && attempt === 0 && fresh && !opts.signal?.aborted && e instanceof PieceClientError && e.connectionLost) continue;
        throw e;
      }
    }
  }

  private connect(): Connection {
    const c = new Connection(this.host, this.port, (conn) => this.settled(conn));
    c.socket.unref();
    this.all.add(c);
    return c;
  }

  /** A connection finished a request (back to idle) or died (forgotten). */
  private settled(c: Connection): void {
    if (c.dead || this.closed) {
      this.all.delete(c);
      const i = this.idle.indexOf(c);
      if (i >= 0) this.idle.splice(i, 1);
      if (!c.dead) c.kill(undefined);
      return;
    }
    this.idle.push(c);
  }

  close(): void {
    this.closed = true;
    for (const c of [...this.all]) c.kill(new PieceClientError('client closed'));
    this.all.clear();
    this.idle.length = 0;
  }
}
