/**
 * The tracker's HTTP server, wired: the fast path for plain keep-alive announce and scrape
 * requests on raw sockets (fast-path.ts), in front of `http.createServer()` with a lean route
 * for announce and scrape (requests the fast path hands over), in front of the Express app
 * (peers.ts: /peers, 404s). Both routes call the one handler (handler.ts) over the service.
 */
import http from 'node:http';
import type net from 'node:net';
import type express from 'express';
import { TrackerService, type TrackerConfig } from '../service.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { startExpiry } from '../store/expiry.ts';
import { originForm } from './fast-request.ts';
import { applyServerTimeouts, serveHandedOver } from '../../net/server-timeouts.ts';
import { createFastPathServer } from './fast-path.ts';
import { HttpTrackerHandler } from './handler.ts';
import { createTrackerApp } from './peers.ts';
import { connectionCap, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './connection-cap.ts';
import type { TorrentNames } from '../dashboard/views.ts';

export interface TrackerServer {
  /** Listen on this one (the HTTP server behind it takes the connections it hands over). */
  server: net.Server;
  stop(): Promise<void>;
}

function writeAnswer(res: http.ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(body);
}

/**
 * The hot paths, ahead of Express: `GET /announce` and `GET /scrape` go straight to the handler
 * (Express's per-request machinery costs several times the announce itself); every other
 * request falls through to the Express app.
 */
function leanRoute(handler: HttpTrackerHandler, app: express.Express): http.RequestListener {
  return (req, res) => {
    // `http://host/announce?...` (absolute form) is the same request as `/announce?...`.
    const url = req.method === 'GET' ? originForm(req.url ?? '') : null;
    const q = url === null ? -1 : url.indexOf('?');
    const path = url === null ? null : q < 0 ? url : url.slice(0, q);
    if (url === null || (path !== '/announce' && path !== '/scrape')) {
      app(req, res);
      return;
    }
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    let answer: Buffer | Promise<Buffer>;
    try {
      answer = path === '/announce' ? handler.announce(rawQuery, req.socket.remoteAddress, req.headers['x-forwarded-for']) : handler.scrape(rawQuery);
    } catch (err) {
      answer = Promise.reject(err);
    }
    if (Buffer.isBuffer(answer)) return writeAnswer(res, answer);
    answer.then(
      (body) => writeAnswer(res, body),
      (err: unknown) => {
        console.error('tracker error:', err);
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('internal error\n');
      },
    );
  };
}

/** A tracker over `store` with its own service, and the expiry sweep (peers silent for 2 x interval are dropped). */
export function createTrackerServer(store: SwarmStore, config: TrackerConfig, connections: ConnectionLimits = DEFAULT_CONNECTION_LIMITS): TrackerServer {
  const expiry = startExpiry(store, expiryPeriodMs(config));
  const front = createHttpFrontEnd(new TrackerService(store, config), connections);
  return {
    server: front.server,
    stop: () => {
      expiry.stop();
      return front.stop();
    },
  };
}

/** How often the expiry pass runs: twice per announce interval, at most 4 times a second. */
export function expiryPeriodMs(config: TrackerConfig): number {
  return Math.max(250, (config.interval * 1000) / 2);
}

/**
 * The HTTP front end over a service: announce, scrape, and the Express app for the rest (the
 * dashboard among it; `names` are the torrents' names it shows, if known).
 */
export function createHttpFrontEnd(service: TrackerService, connections: ConnectionLimits = DEFAULT_CONNECTION_LIMITS, names?: TorrentNames): TrackerServer {
  const handler = new HttpTrackerHandler(service);
  const httpServer = applyServerTimeouts(http.createServer(leanRoute(handler, createTrackerApp(service, names))));
  const fast = createFastPathServer({
    answer: (req, remoteAddress) => (req.path === '/scrape' ? handler.scrape(req.query) : handler.announce(req.query, remoteAddress, req.forwardedFor)),
    fallback: httpServer,
    headersTimeoutMs: httpServer.headersTimeout,
    idleTimeoutMs: httpServer.keepAliveTimeout,
    maxHeadBytes: http.maxHeaderSize,
    admit: connectionCap(connections),
  });
  const server = fast.server;
  serveHandedOver(server, httpServer);
  return {
    server,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        fast.destroyConnections();
        httpServer.closeAllConnections();
      }),
  };
}
