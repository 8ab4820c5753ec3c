/**
 * The tracker dashboard's routes on the tracker's Express app (requests the announce/scrape fast
 * path does not take): the pages, their JSON under /api, the live stream, the static files.
 * Read-only: nothing here changes the tracker's state.
 */
import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { TrackerService } from '../service.ts';
import { pageShell, html } from '../../dashboard/html.ts';
import { sendHtml, sendJson, sendJsonError } from '../../dashboard/respond.ts';
import { createStaticFiles, SHARED_WEB_FILES } from '../../dashboard/static.ts';
import { SseHub } from '../../dashboard/sse.ts';
import { BusyError } from '../../dashboard/cache.ts';
import { TrackerDashboardData } from './data.ts';
import { pageParam, parseListing, rawQueryOf } from './query.ts';
import { overviewPage, swarmPage } from './pages.ts';
import type { TorrentNames } from './views.ts';

/** The browser modules of the tracker's pages (dist/web), besides the shared ones. */
export const TRACKER_WEB_FILES = [...SHARED_WEB_FILES, 'tracker.js', 'tracker-swarm.js'];
/** Pages of a swarm's peers (100 each) reachable by `?page=`. */
const MAX_PEER_PAGES = 200;

export interface TrackerDashboard {
  data: TrackerDashboardData;
  events: SseHub;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/** Errors of a route: too busy is a 503 (JSON or text), anything else goes to the app's error handler. */
function guarded(f: Handler, json: boolean) {
  return (req: Request, res: Response, next: NextFunction) => {
    f(req, res).catch((e: unknown) => {
      if (!(e instanceof BusyError)) return next(e);
      if (json) sendJsonError(res, 503, e.message);
      else res.status(503).type('text/plain').send(`${e.message}\n`);
    });
  };
}

function infoHashParam(req: Request): Buffer | null {
  const hex = String(req.params['hex'] ?? '');
  return /^[0-9a-fA-F]{40}$/.test(hex) ? Buffer.from(hex, 'hex') : null;
}

function errorPage(res: Response, status: number, message: string): void {
  sendHtml(res, status, pageShell({ title: 'Tracker', body: html`<h1>Tracker</h1><p>${message}</p><p><a href="/">back to the dashboard</a></p>` }));
}

export function mountTrackerDashboard(app: express.Express, service: TrackerService, names?: TorrentNames): TrackerDashboard {
  const data = new TrackerDashboardData(service, names);
  const events = new SseHub({ produce: () => data.tick(), onError: (e) => console.error(`tracker dashboard: ${(e as Error).message}`) });
  const statics = createStaticFiles(TRACKER_WEB_FILES);

  app.get('/', guarded(async (req, res) => {
    const listing = parseListing(rawQueryOf(req.originalUrl));
    if (typeof listing === 'string') return errorPage(res, 400, listing);
    const [stats, swarms] = await Promise.all([data.stats(), data.swarms(listing)]);
    sendHtml(res, 200, pageShell({ title: 'Tracker', body: overviewPage(stats, swarms, listing), scripts: ['tracker.js'] }));
  }, false));

  app.get('/swarm/:hex', guarded(async (req, res) => {
    const ih = infoHashParam(req);
    const page = pageParam(new URLSearchParams(rawQueryOf(req.originalUrl)).get('page'), MAX_PEER_PAGES);
    if (ih === null || page === null) return errorPage(res, 400, 'a swarm is /swarm/<40 hex digits>[?page=N]');
    const view = await data.swarm(ih, page);
    sendHtml(res, 200, pageShell({ title: `Swarm ${view.info_hash}`, body: swarmPage(view, Date.now()), scripts: ['tracker-swarm.js'] }));
  }, false));

  app.get('/api/stats', guarded(async (_req, res) => sendJson(res, 200, { ...(await data.stats()), history: data.history.all() }), true));

  app.get('/api/swarms', guarded(async (req, res) => {
    const listing = parseListing(rawQueryOf(req.originalUrl));
    if (typeof listing === 'string') return sendJsonError(res, 400, listing);
    sendJson(res, 200, await data.swarms(listing));
  }, true));

  app.get('/api/swarms/:hex', guarded(async (req, res) => {
    const ih = infoHashParam(req);
    const page = pageParam(new URLSearchParams(rawQueryOf(req.originalUrl)).get('page'), MAX_PEER_PAGES);
    if (ih === null) return sendJsonError(res, 400, 'info_hash must be 40 hex digits');
    if (page === null) return sendJsonError(res, 400, `page must be a whole number from 1 to ${MAX_PEER_PAGES}`);
    sendJson(res, 200, await data.swarm(ih, page));
  }, true));

  app.get('/api/events', (req, res) => events.accept(req, res));
  app.use((req, res, next) => {
    if (!statics.serve(req, res, req.path)) next();
  });
  return { data, events };
}
