/**
 * The peer's HTTP API: serves the verified data of the torrents it shares.
 *   GET|HEAD /file/<info_hash hex>            the whole content (single-file torrents), with Range
 *   GET|HEAD /piece/<info_hash hex>/<index>   one verified piece, with Range inside the piece
 *   GET      /bitfield/<info_hash hex>        which pieces are held (BEP 3 bitfield bytes)
 *   GET|HEAD /webseed/<info_hash hex>/<name>[/<path>...]   BEP 19 web seed, with Range
 *   GET      /stats                           counters as JSON
 *   GET      /, /api/..., /torrent/<hex>.torrent, /metrics   the dashboard (see dashboard/routes.ts)
 * Bytes come only from a torrent's piece store, by offset: no URL part ever becomes a file path.
 */
import http from 'node:http';
import express, { type Request, type Response } from 'express';
import { pieceSize } from '../metainfo/metainfo.ts';
import type { ChunkPool } from './chunk-pool.ts';
import type { SharedTorrent, UploadCounter } from './shared-torrent.ts';
import { parseRange } from './range.ts';
import { applyServerTimeouts } from '../net/server-timeouts.ts';
import type { RateLimiter } from '../net/rate-limiter.ts';
import { HttpConnections, type Exchange, type HttpConnectionOptions } from './http-connections.ts';
import { sendRange } from './send-range.ts';
import { normalizeAddress } from '../bittorrent/address.ts';
import { errorHandler, notFound, plain } from '../net/express-errors.ts';
import type { PeerStats } from './stats/peer-stats.ts';
import { dashboardRoutes } from './dashboard/routes.ts';

export interface PeerApiContext {
  torrents: ReadonlyMap<string, SharedTorrent>;
  counter: UploadCounter;
  /** Caps every byte of content uploaded (`--max-upload-rate`). */
  limiter?: RateLimiter;
  /** Buffers answers are read into and sent from. */
  chunks: ChunkPool;
  /** Deadlines and pipelining of the API's connections. */
  http: HttpConnectionOptions;
  /**
   * A downloading peer told us the port it serves on (header `X-P2P-Listen-Port` on its bitfield
   * request): it can be a source for us too, as a BitTorrent connection works both ways.
   */
  onPeerSeen?(infoHashHex: string, ip: string, port: number): void;
  /** The dashboard's numbers: uploads are counted per torrent and per client too. */
  stats?: PeerStats;
}

/** The connection a request came on (its answer's deadline and close signal). */
type ExchangeOf = (req: http.IncomingMessage) => Exchange | undefined;

export const LISTEN_PORT_HEADER = 'x-p2p-listen-port';

/** The port a client says it serves on (our requesters send it), or undefined. */
function listenPortOf(req: http.IncomingMessage): number | undefined {
  const v = req.headers[LISTEN_PORT_HEADER];
  return typeof v === 'string' && /^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? Number(v) : undefined;
}

/**
 * Answer a GET/HEAD for `size` bytes found at `base` in the store, honouring `Range`.
 */
function sendBytes(req: Request, res: Response, t: SharedTorrent, base: number, size: number, ctx: PeerApiContext, exchangeOf: ExchangeOf): void {
  const range = parseRange(req.headers.range, size);
  res.set('Accept-Ranges', 'bytes');
  res.set('Content-Type', 'application/octet-stream');
  if (range.kind === 'invalid') return plain(res, 400, 'malformed Range header');
  if (range.kind === 'unsatisfiable') {
    res.set('Content-Range', `bytes */${size}`);
    return plain(res, 416, 'range not satisfiable');
  }
  let start = 0;
  let end = size - 1;
  if (range.kind === 'range') {
    ({ start, end } = range);
    res.status(206).set('Content-Range', `bytes ${start}-${end}/${size}`);
  } else {
    res.status(200);
  }
  const length = end - start + 1;
  res.set('Content-Length', String(length));
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const ex = exchangeOf(req);
  if (!ex) return void res.destroy();
  const torrentStats = ctx.stats?.get(t.meta.infoHashHex);
  const client = { address: normalizeAddress(req.socket.remoteAddress), port: listenPortOf(req), webSeed: req.path.startsWith('/webseed/') };
  const counter = torrentStats ? torrentStats.httpUpload(client) : ctx.counter;
  sendRange(res, t.store, base + start, length, ex, { limiter: ctx.limiter, chunks: ctx.chunks, counter }).catch(() => res.destroy());
}

function createPeerApp(ctx: PeerApiContext, exchangeOf: ExchangeOf): express.Express {
  const { torrents } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);

  const lookup = (req: Request, res: Response): SharedTorrent | undefined => {
    const hex = String(req.params['hash'] ?? '');
    if (!/^[0-9a-fA-F]{40}$/.test(hex)) {
      plain(res, 400, 'info_hash must be 40 hex characters');
      return undefined;
    }
    const t = torrents.get(hex.toLowerCase());
    if (!t) plain(res, 404, 'unknown info_hash');
    // Super-seeding offers each peer chosen pieces over the wire: the whole file here would undo it.
    else if (t.superSeeding) plain(res, 403, 'super-seeding: use the BitTorrent protocol');
    return t?.superSeeding ? undefined : t;
  };

  app.get('/file/:hash', (req, res) => {
    const t = lookup(req, res);
    if (!t) return;
    if (!t.have.complete) return plain(res, 404, 'this peer does not hold the whole file yet');
    if (t.meta.multiFile) return plain(res, 404, 'multi-file torrent: fetch pieces with /piece');
    sendBytes(req, res, t, 0, t.meta.length, ctx, exchangeOf);
  });

  app.get('/piece/:hash/:index', (req, res) => {
    const t = lookup(req, res);
    if (!t) return;
    const raw = String(req.params['index']);
    if (!/^\d{1,10}$/.test(raw)) return plain(res, 400, 'piece index must be a non-negative integer');
    const index = Number(raw);
    if (index >= t.meta.pieceCount) return plain(res, 404, `no piece ${index}: the torrent has ${t.meta.pieceCount}`);
    if (!t.have.has(index)) return plain(res, 404, `piece ${index} is not held by this peer`);
    sendBytes(req, res, t, index * t.meta.pieceLength, pieceSize(t.meta, index), ctx, exchangeOf);
  });

  // BEP 19 web seed: the url-list we write is `<public url>/webseed/<info_hash>/`, to which
  // clients append the name (single file) or name/path... (multi-file).
  app.get('/webseed/:hash/*path', (req, res) => {
    const t = lookup(req, res);
    if (!t) return;
    if (!t.have.complete) return plain(res, 404, 'this peer does not hold the whole torrent yet');
    const parts = (req.params as unknown as { path: string[] }).path;
    const { meta } = t;
    if (parts[0] !== meta.name) return plain(res, 404, 'no such file in this torrent');
    const rest = parts.slice(1).join('/');
    const file = meta.multiFile ? meta.files.find((f) => !f.pad && f.path.join('/') === rest) : parts.length === 1 ? meta.files[0] : undefined;
    if (!file) return plain(res, 404, 'no such file in this torrent');
    sendBytes(req, res, t, file.offset, file.length, ctx, exchangeOf);
  });

  app.get('/bitfield/:hash', (req, res) => {
    const t = lookup(req, res);
    if (!t) return;
    const port = listenPortOf(req);
    const ip = req.socket.remoteAddress;
    if (ctx.onPeerSeen && port !== undefined && ip) ctx.onPeerSeen(t.meta.infoHashHex, normalizeAddress(ip), port);
    res.status(200).set('Content-Type', 'application/octet-stream').set('Cache-Control', 'no-store').send(Buffer.from(t.have.bytes));
  });

  // Counters for people, scripts and tests.
  app.get('/stats', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({
      uploaded: ctx.counter.uploaded,
      torrents: [...torrents.values()].map((t) => ({ info_hash: t.meta.infoHashHex, name: t.meta.name, pieces: t.meta.pieceCount, have: t.have.count })),
    });
  });

  if (ctx.stats) app.use(dashboardRoutes({ stats: ctx.stats, torrents, exchangeOf }));
  app.use(notFound);
  app.use(errorHandler('peer API'));
  return app;
}

export function createPeerServer(ctx: PeerApiContext): http.Server {
  const connections: HttpConnections = new HttpConnections(createPeerApp(ctx, (req) => connections.exchangeOf(req)), ctx.http);
  return applyServerTimeouts(http.createServer(connections.onRequest));
}
