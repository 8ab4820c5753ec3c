/**
 * GET /metrics (Prometheus text) and GET /stats (JSON) over a metrics source: as routes of the
 * tracker's public app, and as the small server of `--metrics-host/--metrics-port`.
 */
import { listenErrorMessage } from '../../net/listen-error.ts';
import http from 'node:http';
import { applyServerTimeouts, listen } from '../../net/server-timeouts.ts';
import { METRICS_CONTENT_TYPE, metricsText, statsJson, type MetricsSource } from './report.ts';

export type MetricsPath = '/metrics' | '/stats';

/** Answer one scrape; a failure to collect is a 500 with one line, never a crash. */
export async function answerMetrics(source: MetricsSource, path: MetricsPath, res: http.ServerResponse): Promise<void> {
  let body: string;
  let type: string;
  try {
    const report = await source.collect();
    if (path === '/metrics') {
      body = await metricsText(report);
      type = METRICS_CONTENT_TYPE;
    } else {
      body = JSON.stringify(statsJson(report), null, 1) + '\n';
      type = 'application/json; charset=utf-8';
    }
  } catch (e) {
    console.error(`tracker: ${path} failed: ${(e as Error).message}`);
    body = 'metrics unavailable\n';
    type = 'text/plain';
    res.statusCode = 500;
  }
  if (res.destroyed) return;
  res.writeHead(res.statusCode, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

export interface MetricsServer {
  server: http.Server;
  stop(): Promise<void>;
}

/** A server with /metrics and /stats only (GET or HEAD; anything else: 404 or 405). */
export function createMetricsServer(source: MetricsSource): MetricsServer {
  const server = applyServerTimeouts(
    http.createServer((req, res) => {
      const path = (req.url ?? '').split('?', 1)[0];
      if (path !== '/metrics' && path !== '/stats') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics or /stats\n');
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
      } else {
        void answerMetrics(source, path, res);
      }
    }),
  );
  return {
    server,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Start the metrics server, or reject with a one-line reason. */
export async function startMetricsServer(source: MetricsSource, host: string, port: number): Promise<MetricsServer> {
  const metrics = createMetricsServer(source);
  await listen(metrics.server, port, host).catch((e: NodeJS.ErrnoException) => {
    throw new Error(listenErrorMessage(e, host, port, '--metrics-port', 'metrics port'));
  });
  return metrics;
}
