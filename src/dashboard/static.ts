/**
 * The dashboards' static files: the compiled browser modules in dist/web (tsconfig.web.json) and
 * the stylesheet, from a fixed allowlist, so no request path ever reaches the file system. Files
 * are read once and kept (a few KB); ETag + no-cache: a browser revalidates and gets 304s.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARD_CSS } from './style.ts';

/** dist/web from both src/dashboard (tests under tsx) and dist/dashboard (the compiled programs). */
export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'web');

/** The shared modules every dashboard page may load (relative to dist/web). */
export const SHARED_WEB_FILES = ['shared/chart.js', 'shared/dom.js', 'shared/format.js', 'shared/json.js', 'shared/live.js', 'shared/ticks.js'] as const;

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

interface Entry {
  body: Buffer;
  type: string;
  etag: string;
}

export interface StaticFiles {
  /** Answer `GET|HEAD /static/<name>` if `urlPath` is one of ours; false when it is not. */
  serve(req: http.IncomingMessage, res: http.ServerResponse, urlPath: string): boolean;
}

function entry(body: Buffer, name: string): Entry {
  return { body, type: TYPES[path.extname(name)] ?? 'application/octet-stream', etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

/**
 * Serve `files` (paths under `webDir`, e.g. 'tracker.js') and dashboard.css under `/static/`.
 * A listed file that is missing (not built) is a 404 naming `npm run build`.
 */
export function createStaticFiles(files: readonly string[], webDir = WEB_DIR): StaticFiles {
  const allowed = new Set(files);
  const cache = new Map<string, Promise<Entry | null>>([['dashboard.css', Promise.resolve(entry(Buffer.from(DASHBOARD_CSS), 'dashboard.css'))]]);
  const load = (name: string): Promise<Entry | null> => {
    let e = cache.get(name);
    if (e === undefined) {
      e = readFile(path.join(webDir, name)).then(
        (body) => entry(body, name),
        () => {
          cache.delete(name); // built later: try again then
          return null;
        },
      );
      cache.set(name, e);
    }
    return e;
  };
  return {
    serve(req, res, urlPath) {
      if (!urlPath.startsWith('/static/')) return false;
      const name = urlPath.slice('/static/'.length);
      if (name !== 'dashboard.css' && !allowed.has(name)) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
        return true;
      }
      void load(name).then((e) => answer(req, res, e));
      return true;
    },
  };
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, e: Entry | null): void {
  if (res.destroyed) return;
  if (e === null) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not built: run npm run build\n');
    return;
  }
  const headers = { 'Content-Type': e.type, ETag: e.etag, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
  if (req.headers['if-none-match'] === e.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': e.body.length });
  res.end(req.method === 'HEAD' ? undefined : e.body);
}
