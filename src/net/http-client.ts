/**
 * HTTP client on `node:http` with keep-alive agents. Not the built-in `fetch`: it refuses the
 * Fetch spec's "bad ports" (6000, 6665-6669, ...) on which real peers listen.
 */
import http from 'node:http';

export const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 10_000 });

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

/** GET `url` and collect the body, bounded in size and in silence between bytes. */
export function httpGet(url: string | URL, opts: GetOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new HttpError(`invalid URL ${String(url)}`));
      return;
    }
    if (u.protocol !== 'http:') {
      reject(new HttpError(`unsupported URL scheme ${u.protocol}`));
      return;
    }
    const req = http.get(u, { headers: opts.headers, agent: opts.agent ?? keepAliveAgent, signal: opts.signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > opts.maxBytes) {
        req.destroy(new HttpError(`response of ${declared} bytes is larger than ${opts.maxBytes}`));
        return;
      }
      res.on('data', (c: Buffer) => {
        timer.refresh();
        size += c.length;
        if (size > opts.maxBytes) req.destroy(new HttpError(`response larger than ${opts.maxBytes} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, size) });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new HttpError(`no data for ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
