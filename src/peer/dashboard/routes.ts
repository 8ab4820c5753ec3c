/**
 * The peer's dashboard on its own port, read-only (GET and HEAD only; nothing changes state):
 *   GET /                          the page (server-rendered numbers; live with JavaScript)
 *   GET /api/torrents              every torrent's summary (JSON)
 *   GET /api/torrents/<hex>        one torrent: summary, pieces, files, peers, rate history
 *   GET /api/events[?torrent=<hex>] Server-Sent Events, once a second (see events.ts)
 *   GET /torrent/<hex>.torrent     the torrent's metainfo file
 *   GET /metrics                   Prometheus text
 */
import type { IncomingMessage } from 'node:http';
import express, { type Request, type Response } from 'express';
import { plain } from '../../net/express-errors.ts';
import type { SharedTorrent } from '../shared-torrent.ts';
import type { PeerStats } from '../stats/peer-stats.ts';
import { torrentFileBytes, torrentFileName } from '../stats/torrent-file.ts';
import { PEER_METRICS_CONTENT_TYPE, peerMetricsText } from '../stats/metrics.ts';
import type { Exchange } from '../http-connections.ts';
import { EventHub } from './events.ts';
import { renderPeerPage } from './page.ts';

export interface DashboardContext {
  stats: PeerStats;
  torrents: ReadonlyMap<string, SharedTorrent>;
  /** The connection of a request (its send deadline and close signal), for the event stream. */
  exchangeOf(req: IncomingMessage): Exchange | undefined;
}

const HEX = /^[0-9a-fA-F]{40}$/;

/** `?torrent=<hex>` of an event stream request (the app parses no query strings itself). */
function followedTorrent(url: string): string | undefined | null {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const t = new URLSearchParams(url.slice(q + 1)).get('torrent');
  if (t === null) return undefined;
  return HEX.test(t) ? t.toLowerCase() : null;
}

export function dashboardRoutes(ctx: DashboardContext): express.Router {
  const { stats, torrents } = ctx;
  const router = express.Router();
  const events = new EventHub(stats);
  const noStore = (res: Response) => res.set('Cache-Control', 'no-store');

  /** The torrent named by `:hash`, or an answer already sent (400 or 404). */
  const known = (hash: string, res: Response): SharedTorrent | undefined => {
    if (!HEX.test(hash)) return void plain(res, 400, 'info_hash must be 40 hex characters');
    const t = torrents.get(hash.toLowerCase());
    if (!t) plain(res, 404, 'unknown info_hash');
    return t;
  };

  router.get('/', (_req, res) => {
    noStore(res).type('html').send(renderPeerPage(stats.summaries(), (hex) => stats.detail(hex)));
  });

  router.get('/api/torrents', (_req, res) => void noStore(res).json({ torrents: stats.summaries() }));

  router.get('/api/torrents/:hash', (req: Request, res) => {
    const t = known(String(req.params['hash']), res);
    if (t) noStore(res).json(stats.detail(t.meta.infoHashHex));
  });

  router.get('/api/events', (req, res) => {
    const follow = followedTorrent(req.originalUrl);
    if (follow === null) return plain(res, 400, 'torrent must be 40 hex characters');
    const ex = ctx.exchangeOf(req);
    if (!ex) return void res.destroy();
    if (!events.add(res, ex, follow)) plain(res.set('Retry-After', '10'), 503, 'too many event streams');
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
    const totals = stats.totals();
    peerMetricsText({ ...totals, connections: stats.connections(), torrents: stats.torrentCount }).then(
      (text) => void noStore(res).type(PEER_METRICS_CONTENT_TYPE).send(text),
      next,
    );
  });

  return router;
}
