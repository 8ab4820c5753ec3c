/**
 * The tracker's Express app: everything the announce/scrape routes do not take (/peers, /metrics,
 * /stats, the dashboard at / with its /api, 404s).
 */
import express, { type Request } from 'express';
import { notFound, errorHandler } from '../../net/express-errors.ts';
import type { TrackerService } from '../service.ts';
import { answerMetrics } from '../metrics/http.ts';
import { metricsSourceFor } from '../metrics/source.ts';
import { mountTrackerDashboard } from '../dashboard/routes.ts';
import type { TorrentNames } from '../dashboard/views.ts';

/** Peers per page of /peers (about 100 KB of JSON). */
export const PEERS_PAGE = 1000;

/** The raw query string exactly as sent (never Express's UTF-8 decoded `req.query`). */
function rawQuery(req: Request): string {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

/** `?page=N` (from 1; absent: 1), or null when it is not a whole number in range. */
function pageNumber(text: string | null): number | null {
  if (text === null) return 1;
  if (!/^[1-9][0-9]{0,8}$/.test(text)) return null;
  return Number(text);
}

/** `names`: torrent names for the dashboard (the whitelist's second column), if any. */
export function createTrackerApp(service: TrackerService, names?: TorrentNames): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', false);
  app.set('etag', false);

  // The report's peer list, as JSON for people and scripts: in pages, so that an answer never
  // grows with the swarm (a 20,000-peer swarm would be 2 MB, sent to anyone who asks).
  app.get('/peers', async (req, res) => {
    const params = new URLSearchParams(rawQuery(req));
    const hex = params.get('info_hash') ?? '';
    if (!/^[0-9a-fA-F]{40}$/.test(hex)) {
      res.status(400).json({ error: 'info_hash must be 40 hex characters' });
      return;
    }
    const page = pageNumber(params.get('page'));
    if (page === null) {
      res.status(400).json({ error: 'page must be a whole number from 1' });
      return;
    }
    const { total, peers } = await service.peers(Buffer.from(hex, 'hex'), (page - 1) * PEERS_PAGE, PEERS_PAGE);
    res.json({
      info_hash: hex.toLowerCase(),
      total,
      page,
      per_page: PEERS_PAGE,
      peers: peers.map((p) => ({ ip: p.ip, port: p.port, peer_id: p.peerId.toString('hex'), seeder: p.seeder })),
    });
  });

  // Read from the counters when scraped: an announce pays nothing for them.
  const metrics = metricsSourceFor(service);
  app.get('/metrics', (_req, res) => answerMetrics(metrics, '/metrics', res));
  app.get('/stats', (_req, res) => answerMetrics(metrics, '/stats', res));
  mountTrackerDashboard(app, service, names);

  app.use(notFound);
  app.use(errorHandler('tracker'));
  return app;
}
