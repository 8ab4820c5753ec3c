/**
 * HTTP client on `node:http`/`node:https` with keep-alive agents, for servers we do not write:
 * trackers (announce) and BEP 19 web seeds (ranges). Our own HTTP peers are read with
 * piece-client.ts, which needs exact lengths and no chunking and so copies nothing. Not the
 * built-in `fetch`: it refuses the Fetch spec's "bad ports" (6000, 6665-6669, ...) on which real
 * peers listen.
 *
 * Every request is bounded three ways: bytes (a cap on the body), silence (no byte for
 * `timeoutMs`) and total time (`deadlineMs`): a server that trickles one byte a second never
 * trips the inactivity timeout, so only a total deadline ends it.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';

/**
 * Bytes on a kept-alive connection while no request is on it are not HTTP: a server that streams
 * on after its answer. Node's agent would read and drop them forever, so the connection is closed.
 */
function guardIdle(socket: Duplex): void {
  socket.on('data', closeUnasked);
}
function closeUnasked(this: Duplex): void {
  this.destroy();
}
/** Node's keepSocketAlive returns whether it keeps the socket (its typings say void). */
function guardIfKept(socket: Duplex, kept: unknown): boolean {
  if (kept) guardIdle(socket);
  return Boolean(kept);
}
function unguard(socket: Duplex): void {
  socket.off('data', closeUnasked);
}

/** An agent class (http or https) whose kept-alive connections close at their first unasked byte. */
// (A mixin: TypeScript requires its base constructor to take `any[]`.)
function guarded<Base extends new (...args: any[]) => http.Agent>(base: Base) {
  return class extends base {
    override keepSocketAlive(socket: Duplex): boolean {
      return guardIfKept(socket, super.keepSocketAlive(socket));
    }
    override reuseSocket(socket: Duplex, req: http.ClientRequest): void {
      unguard(socket);
      super.reuseSocket(socket, req);
    }
  };
}

/** A keep-alive agent that closes a pooled connection as soon as a byte arrives on it unasked. */
export const GuardedAgent = guarded(http.Agent);
/** The same for TLS connections. */
export const GuardedHttpsAgent = guarded(https.Agent);

export const keepAliveAgent = new GuardedAgent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 10_000 });
export const keepAliveHttpsAgent = new GuardedHttpsAgent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 10_000 });

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface GetOptions {
  headers?: Record<string, string>;
  /** Inactivity timeout: the request fails when no byte arrives for this long. */
  timeoutMs: number;
  /**
   * Total deadline, from the start of the request to the last byte of the body. Default: see
   * defaultDeadlineMs.
   */
  deadlineMs?: number;
  /** The body may not be longer than this; a longer one is an error (a hostile server). */
  maxBytes: number;
  agent?: http.Agent;
  signal?: AbortSignal;
}

export class HttpError extends Error {}

/** The slowest transfer a request without an explicit deadline is allowed (bytes per second). */
const DEFAULT_MIN_RATE = 16 * 1024;

/**
 * A total deadline for a request whose caller gave none: twice the inactivity timeout, plus the
 * time `bytes` take at DEFAULT_MIN_RATE. Generous for an honest server, finite for a trickling one.
 */
export function defaultDeadlineMs(timeoutMs: number, bytes: number): number {
  return 2 * timeoutMs + Math.ceil((bytes * 1000) / DEFAULT_MIN_RATE);
}

interface Settle<T> {
  resolve(v: T): void;
  reject(e: Error): void;
  /** A byte arrived: restart the inactivity timeout (never the total deadline). */
  touch(): void;
  readonly settled: boolean;
}

/**
 * Start a GET and hand the response to `onResponse`, which consumes it and settles the promise.
 * Handles URL checks, the agent, the inactivity timeout, the total deadline and errors in one place.
 */
function request<T>(
  url: string | URL,
  opts: Pick<GetOptions, 'headers' | 'timeoutMs' | 'agent' | 'signal'> & { deadlineMs: number },
  onResponse: (res: http.IncomingMessage, settle: Settle<T>, req: http.ClientRequest) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new HttpError(`invalid URL ${String(url)}`));
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      reject(new HttpError(`unsupported URL scheme ${u.protocol}`));
      return;
    }
    const mod = u.protocol === 'https:' ? https : http;
    const agent = u.protocol === 'https:' ? keepAliveHttpsAgent : (opts.agent ?? keepAliveAgent);
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(idle);
      clearTimeout(deadline);
    };
    const settle: Settle<T> = {
      resolve: (v: T) => {
        if (done) return;
        finish();
        resolve(v);
      },
      reject: (e: Error) => {
        if (done) return;
        finish();
        req.destroy();
        reject(e);
      },
      touch: () => idle.refresh(),
      get settled() {
        return done;
      },
    };
    const req = mod.get(u, { headers: opts.headers, agent, signal: opts.signal }, (res) => {
      res.on('error', (e) => settle.reject(e));
      onResponse(res, settle, req);
    });
    const idle = setTimeout(() => settle.reject(new HttpError(`no data for ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const deadline = setTimeout(() => settle.reject(new HttpError(`no complete answer within ${opts.deadlineMs} ms`)), opts.deadlineMs);
    req.on('error', (e) => settle.reject(e));
  });
}

/** GET `url` and collect the body, bounded in size, in silence between bytes and in total time. */
export function httpGet(url: string | URL, opts: GetOptions): Promise<HttpResponse> {
  const deadlineMs = opts.deadlineMs ?? defaultDeadlineMs(opts.timeoutMs, opts.maxBytes);
  return request<HttpResponse>(url, { ...opts, deadlineMs }, (res, settle) => {
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > opts.maxBytes) return settle.reject(new HttpError(`response of ${declared} bytes is larger than ${opts.maxBytes}`));
    // With a declared length the body goes straight into one buffer (no chunk list, no concat):
    // fewer copies of every block in memory.
    const hasLength = res.headers['content-length'] !== undefined && Number.isSafeInteger(declared);
    const body = hasLength ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      settle.touch();
      if (size + c.length > (body ? body.length : opts.maxBytes)) {
        settle.reject(new HttpError(`response longer than ${body ? 'its Content-Length' : `${opts.maxBytes} bytes`}`));
        return;
      }
      if (body) c.copy(body, size);
      else chunks.push(c);
      size += c.length;
    });
    res.on('end', () => {
      if (body && size !== body.length) return settle.reject(new HttpError(`response ended after ${size} of ${body.length} bytes`));
      settle.resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body ?? Buffer.concat(chunks, size) });
    });
  });
}

/**
 * How a range answer is read: `skip` bytes to drop before ours, and whether the body ends
 * exactly with our last byte (only then may the connection go back to the keep-alive pool).
 * An Error when the answer cannot hold our range. Pure.
 */
export function rangePlan(url: string, status: number, headers: http.IncomingHttpHeaders, start: number, length: number): { skip: number; endsWithOurs: boolean } | HttpError {
  const cl = headers['content-length'];
  const declared = cl === undefined ? undefined : Number(cl);
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== start || Number(m[2]) < start + length - 1) {
      return new HttpError(`server answered another range (${headers['content-range'] ?? 'none'})`);
    }
    return { skip: 0, endsWithOurs: Number(m[2]) === start + length - 1 && declared === length };
  }
  if (status === 200) {
    // A server that ignores `Range`: our bytes are somewhere in the whole resource.
    if (declared !== undefined && declared < start + length) return new HttpError(`resource of ${declared} bytes has no bytes ${start}-${start + length - 1}`);
    return { skip: start, endsWithOurs: declared === start + length };
  }
  return new HttpError(`HTTP ${status} for ${url}`);
}

/**
 * Exactly the bytes [start, start + length) of the resource at `url`, asked with `Range`. A
 * server that ignores `Range` and answers 200 with the whole resource still works: the bytes
 * before `start` are skipped as they stream past. Nothing past our last byte is read: unless
 * the body ends exactly there, the connection is closed once we have ours.
 */
export function httpGetRange(url: string, start: number, length: number, opts: Omit<GetOptions, 'maxBytes'>, into?: Buffer): Promise<Buffer> {
  const headers = { ...opts.headers, Range: `bytes=${start}-${start + length - 1}` };
  const deadlineMs = opts.deadlineMs ?? defaultDeadlineMs(opts.timeoutMs, length);
  return request<Buffer>(url, { ...opts, headers, deadlineMs }, (res, settle, req) => {
    const plan = rangePlan(url, res.statusCode ?? 0, res.headers, start, length);
    if (plan instanceof HttpError) return settle.reject(plan);
    let skip = plan.skip;
    // Into the caller's buffer when given (nothing is written to it once the promise settled).
    const out = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    if (out.length !== length) return settle.reject(new HttpError(`buffer of ${out.length} bytes for ${length}`));
    let got = 0;
    res.on('data', (c: Buffer) => {
      if (settle.settled) return;
      settle.touch();
      let chunk = c;
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
      }
      const n = Math.min(chunk.length, length - got);
      chunk.copy(out, got, 0, n);
      got += n;
      if (got === length) {
        settle.resolve(out);
        // The rest is not ours: a longer or unbounded body would stream on for as long as the
        // server likes, so the connection goes instead of back to the pool.
        if (!plan.endsWithOurs || chunk.length > n) req.destroy();
      }
    });
    res.on('end', () => {
      if (got < length) settle.reject(new HttpError(`server sent ${got} of ${length} bytes`));
    });
  });
}
