/**
 * The tracker's server: a fast path for plain keep-alive announce and scrape requests on raw
 * sockets (fast-path.ts), in front of `http.createServer()` with a lean route for announce and
 * scrape (requests the fast path hands over) in front of an Express app that serves everything
 * else (/peers, 404s). Routes only adapt HTTP to the pure handlers.
 */
import http from 'node:http';
import type net from 'node:net';
import express, { type Request, type Response, type NextFunction } from 'express';
import { handleAnnounce, handleAnnounceNow, handleScrape, type TrackerConfig } from '../service.ts';
import { EXPIRY_SLICE_MS, isImmediate, type SwarmStore } from '../store/memory-store.ts';
import { originForm } from './fast-request.ts';
import { applyServerTimeouts, serveHandedOver } from '../../net/server-timeouts.ts';
import { createFastPathServer } from './fast-path.ts';

/** The raw query string exactly as sent (never Express's UTF-8 decoded `req.query`). */
function rawQuery(req: Request): string {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

/** Peers per page of /peers (about 100 KB of JSON). */
export const PEERS_PAGE = 1000;

/** `?page=N` (from 1; absent: 1), or null when it is not a whole number in range. */
function pageNumber(text: string | null): number | null {
  if (text === null) return 1;
  if (!/^[1-9][0-9]{0,8}$/.test(text)) return null;
  return Number(text);
}

/** Everything but announce and scrape (those take the lean route in front of this app). */
function createTrackerApp(store: SwarmStore, config: TrackerConfig): express.Express {
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
    const { total, peers } = await store.list(Buffer.from(hex, 'hex'), Date.now(), (page - 1) * PEERS_PAGE, PEERS_PAGE);
    res.json({
      info_hash: hex.toLowerCase(),
      total,
      page,
      per_page: PEERS_PAGE,
      peers: peers.map((p) => ({ ip: p.ip, port: p.port, peer_id: p.peerId.toString('hex'), seeder: p.seeder })),
    });
  });

  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  // Never let a bad request take the server down.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof err === 'object' && err && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    if (status >= 500) console.error('tracker error:', err);
    if (!res.headersSent) res.status(status).type('text/plain').send(status >= 500 ? 'internal error\n' : 'bad request\n');
  });
  return app;
}

export interface TrackerServer {
  /** Listen on this one (the HTTP server behind it takes the connections it hands over). */
  server: net.Server;
  stop(): Promise<void>;
}

/**
 * The hot paths, ahead of Express: `GET /announce` and `GET /scrape` go straight to the pure
 * handlers (Express's per-request machinery costs several times the announce itself); every
 * other request falls through to the Express app. Returns false when it did not take `req`.
 */
function leanTrackerRoute(store: SwarmStore, config: TrackerConfig, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  // `http://host/announce?...` (absolute form) is the same request as `/announce?...`.
  const url = originForm(req.url ?? '');
  if (url === null) return false;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (req.method !== 'GET' || (path !== '/announce' && path !== '/scrape')) return false;
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const answer = path === '/announce' ? handleAnnounce(store, config, rawQuery, req.socket.remoteAddress, req.headers['x-forwarded-for']) : handleScrape(store, config, rawQuery);
  answer.then(
    (body) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
      res.end(body);
    },
    (err: unknown) => {
      console.error('tracker error:', err);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal error\n');
    },
  );
  return true;
}

/**
 * Every `periodMs`, a pass over the store that drops silent peers and empty swarms, in slices of
 * bounded work with the event loop free between them (setImmediate: after pending I/O), so no
 * announce waits behind a whole pass (600,000 swarms expiring at once took 337 ms in one piece).
 */
function startExpiry(store: SwarmStore, periodMs: number): { stop(): void } {
  let running = false;
  let stopped = false;
  const slice = (): void => {
    if (stopped) return;
    store.expireSome(Date.now(), EXPIRY_SLICE_MS).then(
      (done) => {
        if (done) running = false;
        else setImmediate(slice);
      },
      (err: unknown) => {
        running = false;
        console.error('tracker expiry error:', err);
      },
    );
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    slice();
  }, periodMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** Build the server and start the expiry sweep (peers silent for 2 x interval are dropped). */
export function createTrackerServer(store: SwarmStore, config: TrackerConfig): TrackerServer {
  const app = createTrackerApp(store, config);
  const httpServer = applyServerTimeouts(
    http.createServer((req, res) => {
      if (!leanTrackerRoute(store, config, req, res)) app(req, res);
    }),
  );
  const fast = createFastPathServer({
    answer: (req, remoteAddress) => {
      if (req.path === '/scrape') return handleScrape(store, config, req.query);
      return isImmediate(store)
        ? handleAnnounceNow(store, config, req.query, remoteAddress, req.forwardedFor)
        : handleAnnounce(store, config, req.query, remoteAddress, req.forwardedFor);
    },
    fallback: httpServer,
    headersTimeoutMs: httpServer.headersTimeout,
    idleTimeoutMs: httpServer.keepAliveTimeout,
    maxHeadBytes: http.maxHeaderSize,
  });
  const server = fast.server;
  serveHandedOver(server, httpServer);
  const expiry = startExpiry(store, Math.max(250, (config.interval * 1000) / 2));
  return {
    server,
    stop: () =>
      new Promise((resolve) => {
        expiry.stop();
        server.close(() => resolve());
        fast.destroyConnections();
        httpServer.closeAllConnections();
      }),
  };
}
