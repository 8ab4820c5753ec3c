/**
 * The peer's dashboard on its own port, read-only (GET and HEAD only; nothing changes state):
 *   GET /                            the page (server-rendered numbers; live with JavaScript)
 *   GET /api/torrents                every torrent's summary (JSON)
 *   GET /api/torrents/<hex>          one torrent: summary, pieces, files, peers, rate history
 *   GET /api/events[?torrent=<hex>]  Server-Sent Events once a second: every summary, or one torrent's details
 *   GET /torrent/<hex>.torrent       the torrent's metainfo file
 *   GET /metrics                     Prometheus text
 *   GET /static/...                  the page's scripts and stylesheets (an allowlist)
 */
import type { IncomingMessage } from 'node:http';
import express, { type Request, type Response } from 'express';
import { plain } from '../../net/express-errors.ts';
import { sendHtml, sendJson, sendJsonError } from '../../dashboard/respond.ts';
import { SseHub } from '../../dashboard/sse.ts';
import { createStaticFiles, SHARED_WEB_FILES } from '../../dashboard/static.ts';
import type { SharedTorrent } from '../shared-torrent.ts';
import type { PeerStats } from '../stats/peer-stats.ts';
import { torrentFileBytes, torrentFileName } from '../stats/torrent-file.ts';
import { PEER_METRICS_CONTENT_TYPE, peerMetricsText } from '../stats/metrics.ts';
import type { Exchange } from '../http-connections.ts';
import { renderPeerPage } from './page.ts';
import { PEER_CSS } from './page-style.ts';

export interface DashboardContext {
  stats: PeerStats;
  torrents: ReadonlyMap<string, SharedTorrent>;
  /** The connection of a request (its send deadline), for the event streams. */
  exchangeOf(req: IncomingMessage): Exchange | undefined;
}

/** The page's own modules (dist/web), besides the shared ones. */
export const PEER_WEB_FILES = ['peer.js', 'peer-format.js', 'peer-map.js'] as const;

const HEX = /^[0-9a-fA-F]{40}$/;

/** `?torrent=<hex>` of an event stream request (the app parses no query strings itself): hex, none, or null when malformed. */
function followedTorrent(url: string): string | undefined | null {
  const q = url.indexOf('?');
  const t = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get('torrent');
  if (t === null) return undefined;
  return HEX.test(t) ? t.toLowerCase() : null;
}

export function dashboardRoutes(ctx: DashboardContext): express.Router {
  const { stats, torrents } = ctx;
  const router = express.Router();
  const statics = createStaticFiles([...PEER_WEB_FILES, ...SHARED_WEB_FILES]);
  const summaryHub = new SseHub({ produce: () => ({ torrents: stats.summaries() }) });
  /** One hub per followed torrent (torrents we share only: bounded by them). */
  const detailHubs = new Map<string, SseHub>();

  /** The torrent named by `hash`, or an answer already sent (400 or 404). */
  const known = (hash: string, res: Response): SharedTorrent | undefined => {
    if (!HEX.test(hash)) return void sendJsonError(res, 400, 'info_hash must be 40 hex characters');
    const t = torrents.get(hash.toLowerCase());
    if (!t) sendJsonError(res, 404, 'unknown info_hash');
    return t;
  };

  router.get('/', (_req, res) => sendHtml(res, 200, renderPeerPage(stats.summaries(), (hex) => stats.detail(hex))));
  router.get('/static/peer.css', (_req, res) => void res.set({ 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' }).type('css').send(PEER_CSS));
  router.get('/static/*path', (req, res, next) => void (statics.serve(req, res, req.path) || next()));
  router.get('/api/torrents', (_req, res) => sendJson(res, 200, { torrents: stats.summaries() }));

  router.get('/api/torrents/:hash', (req: Request, res) => {
    const t = known(String(req.params['hash']), res);
    if (t) sendJson(res, 200, stats.detail(t.meta.infoHashHex));
  });

  router.get('/api/events', (req, res) => {
    const follow = followedTorrent(req.originalUrl);
    if (follow === null) return sendJsonError(res, 400, 'torrent must be 40 hex characters');
    if (follow !== undefined && !torrents.has(follow)) return sendJsonError(res, 404, 'unknown info_hash');
    if (req.method === 'HEAD') return void res.status(200).type('text/event-stream').end(); // no stream to hold open
    let hub = summaryHub;
    if (follow !== undefined) {
      hub = detailHubs.get(follow) ?? new SseHub({ produce: () => stats.detail(follow) });
      detailHubs.set(follow, hub);
    }
    hub.accept(req, res);
    // A stream never finishes: the connection's send deadline would cut it. The hub drops a
    // client that stops reading once its unsent bytes pass a bound instead.
    ctx.exchangeOf(req)?.watchdog.idle();
  });

  router.get('/torrent/:file', (req, res) => {
    const m = /^([0-9a-fA-F]{40})\.torrent$/.exec(String(req.params['file']));
    if (!m) return plain(res, 404, 'not found: /torrent/<info_hash hex>.torrent');
    const t = known(m[1]!, res);
    if (!t) return;
    res.set('Content-Type', 'application/x-bittorrent').set('Content-Disposition', `attachment; filename="${torrentFileName(t.meta.name)}"`);
    res.send(torrentFileBytes(t.meta));
  });

  router.get('/metrics', (_req, res, next) => {
    const n = { ...stats.totals(), connections: stats.connections(), torrents: stats.torrentCount };
    peerMetricsText(n).then((text) => void res.set('Cache-Control', 'no-store').type(PEER_METRICS_CONTENT_TYPE).send(text), next);
  });

  return router;
}
