/**
 * /metrics of a peer: Prometheus text (prom-client writes it) from the dashboard's counters, read
 * when scraped, so serving bytes pays nothing for them. Hash failures are labelled by the sending
 * peer's address, at most MAX_FAILING_PEERS of them per torrent (the rest as `other`).
 */
import type { MetricJson } from '../../tracker/metrics/exposition.ts';

/** prom-client's Registry.PROMETHEUS_CONTENT_TYPE (the module is loaded at the first scrape only). */
export const PEER_METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The numbers a scrape shows (PeerStats.totals() and connections(), read once). */
export interface PeerMetricNumbers {
  downloaded: number;
  uploaded: number;
  verified: number;
  failed: number;
  hashFailures: ReadonlyMap<string, number>;
  /** Connected peers by transport (http, tcp, utp, mse, webseed). */
  connections: ReadonlyMap<string, number>;
  torrents: number;
}

const TRANSPORTS = ['http', 'tcp', 'utp', 'mse', 'webseed'];

/** Pure: the metric families of one peer process. */
export function peerMetrics(n: PeerMetricNumbers): MetricJson[] {
  const one = (value: number) => [{ labels: {}, value }];
  return [
    {
      name: 'peer_bytes_total',
      help: 'Bytes of torrent content received (down, verified or not) and sent (up), over every transport.',
      type: 'counter',
      aggregator: 'sum',
      values: [
        { labels: { direction: 'down' }, value: n.downloaded },
        { labels: { direction: 'up' }, value: n.uploaded },
      ],
    },
    { name: 'peer_pieces_verified_total', help: 'Pieces downloaded whose SHA-1 matched.', type: 'counter', aggregator: 'sum', values: one(n.verified) },
    { name: 'peer_pieces_failed_total', help: 'Pieces downloaded whose SHA-1 did not match.', type: 'counter', aggregator: 'sum', values: one(n.failed) },
    {
      name: 'peer_hash_failures_total',
      help: 'Pieces that failed their SHA-1 check, by the address of the peer that sent them.',
      type: 'counter',
      aggregator: 'sum',
      values: [...n.hashFailures].map(([peer, value]) => ({ labels: { peer }, value })),
    },
    {
      name: 'peer_peers',
      help: 'Connected peers by transport: our HTTP API, BitTorrent over TCP, uTP or encrypted (mse), web seeds.',
      type: 'gauge',
      aggregator: 'sum',
      values: TRANSPORTS.map((transport) => ({ labels: { transport }, value: n.connections.get(transport) ?? 0 })),
    },
    { name: 'peer_torrents', help: 'Torrents this peer shares.', type: 'gauge', aggregator: 'sum', values: one(n.torrents) },
  ];
}

/**
 * The Prometheus text of `n`. prom-client is imported here, at the first scrape: loading it costs
 * a peer process about 70 ms of CPU at start-up, which a peer nobody scrapes should not pay.
 */
export async function peerMetricsText(n: PeerMetricNumbers): Promise<string> {
  const { default: promClient } = await import('prom-client');
  return promClient.AggregatorRegistry.aggregate([peerMetrics(n)]).metrics();
}
