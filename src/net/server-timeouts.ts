import type { Server } from 'node:http';
import type net from 'node:net';
import { setConnectionsCheckingInterval, startConnectionTracking } from './node-internals.ts';

/** Bound how long a client may hold a connection: a slowloris client cannot keep a slot forever. */
export function applyServerTimeouts(server: Server): Server {
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 30_000;
  server.maxHeadersCount = 100;
  setConnectionsCheckingInterval(server, 1_000);
  return server;
}

/**
 * `httpServer` serves connections that `front` accepted and handed over (emit('connection')),
 * and never listens itself. Node starts tracking an http.Server's connections, and with that its
 * headersTimeout / requestTimeout checks and closeAllConnections(), on 'listening' only: so it
 * is told when `front` listens, and closed with it.
 */
export function serveHandedOver(front: net.Server, httpServer: Server): void {
  front.on('listening', () => startConnectionTracking(httpServer));
  front.on('close', () => {
    httpServer.closeAllConnections();
    httpServer.close();
  });
}

/** Listen and resolve once bound (rejects on EADDRINUSE and the like). */
export function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
