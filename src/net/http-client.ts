/**
 * HTTP client on `node:http`/`node:https` with keep-alive agents. Not the built-in `fetch`: it
 * refuses the Fetch spec's "bad ports" (6000, 6665-6669, ...) on which real peers listen.
 */
import http from 'node:http';
import https from 'node:https';

export const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 10_000 });
export const keepAliveHttpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 10_000 });

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface GetOptions {
  headers?: Record<string, string>;
  /** Inactivity timeout: the request fails when no byte arrives for this long. */
  timeoutMs: number;
  /** The body may not be longer than this; a longer one is an error (a hostile server). */
  maxBytes: number;
  agent?: http.Agent;
  signal?: AbortSignal;
}

export class HttpError extends Error {}

/**
 * Start a GET and hand the response to `onResponse`, which consumes it and settles the promise.
 * Handles URL checks, the agent, the inactivity timeout and errors in one place.
 */
function request<T>(
  url: string | URL,
  opts: Pick<GetOptions, 'headers' | 'timeoutMs' | 'agent' | 'signal'>,
  onResponse: (res: http.IncomingMessage, settle: { resolve(v: T): void; reject(e: Error): void; touch(): void; readonly settled: boolean }, req: http.ClientRequest) => void,
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
    const settle = {
      resolve: (v: T) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(v);
      },
      reject: (e: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        req.destroy();
        reject(e);
      },
      touch: () => timer.refresh(),
      get settled() {
        return done;
      },
    };
    const req = mod.get(u, { headers: opts.headers, agent, signal: opts.signal }, (res) => {
      res.on('error', (e) => settle.reject(e));
      onResponse(res, settle, req);
    });
    const timer = setTimeout(() => settle.reject(new HttpError(`no data for ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('error', (e) => settle.reject(e));
  });
}

/** GET `url` and collect the body, bounded in size and in silence between bytes. */
export function httpGet(url: string | URL, opts: GetOptions): Promise<HttpResponse> {
  return request<HttpResponse>(url, opts, (res, settle) => {
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
 * Exactly the bytes [start, start + length) of the resource at `url`, asked with `Range`. A
 * server that ignores `Range` and answers 200 with the whole resource still works: the bytes
 * before `start` are skipped as they stream past, and the transfer is cut once we have ours.
 */
export function httpGetRange(url: string, start: number, length: number, opts: Omit<GetOptions, 'maxBytes'>, into?: Buffer): Promise<Buffer> {
  const headers = { ...opts.headers, Range: `bytes=${start}-${start + length - 1}` };
  return request<Buffer>(url, { ...opts, headers }, (res, settle, req) => {
    const status = res.statusCode ?? 0;
    let skip: number;
    if (status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== start) return settle.reject(new HttpError(`server answered another range (${res.headers['content-range'] ?? 'none'})`));
      skip = 0;
    } else if (status === 200) {
      skip = start;
    } else {
      return settle.reject(new HttpError(`HTTP ${status} for ${url}`));
    }
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
        if (status === 200 || chunk.length > n) req.destroy(); // the rest is not ours
      }
    });
    res.on('end', () => {
      if (got < length) settle.reject(new HttpError(`server sent ${got} of ${length} bytes`));
    });
  });
}
