/**
 * Pure: the tracker's counters (StatsSnapshot, summed over the processes of a tracker) and the
 * store's counts -> the metric objects of Prometheus's data model, in the JSON form prom-client's
 * registries produce and aggregate (`getMetricsAsJSON()`), so prom-client writes the text.
 */
import { FAILURE_REASONS, LATENCY_BUCKETS, REQUEST_KINDS, TRANSPORTS, type StatsSnapshot } from './stats.ts';
import type { StoreCounts } from '../store/swarm-store.ts';

type Labels = Record<string, string | number>;

export interface MetricValue {
  value: number;
  labels: Labels;
  /** Set for a histogram's `_bucket`, `_sum` and `_count` lines. */
  metricName?: string;
}

export interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** How prom-client's AggregatorRegistry merges it across registries. */
  aggregator: 'sum' | 'first';
  values: MetricValue[];
}

type Histogram = StatsSnapshot['latency']['http'];

function emptyHistogram(): Histogram {
  return { buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
}

function addHistogram(into: Histogram, h: Histogram): void {
  for (let i = 0; i < into.buckets.length; i++) into.buckets[i]! += h.buckets[i] ?? 0;
  into.sum += h.sum;
  into.count += h.count;
}

/** Every process's counters added up (every field of a snapshot is a sum). */
export function sumSnapshots(snapshots: readonly StatsSnapshot[]): StatsSnapshot {
  const total: StatsSnapshot = {
    requests: {} as StatsSnapshot['requests'],
    failures: {} as StatsSnapshot['failures'],
    latency: { http: emptyHistogram(), udp: emptyHistogram() },
    store: { roundTrips: emptyHistogram(), errors: 0 },
  };
  for (const t of TRANSPORTS) {
    total.requests[t] = {} as StatsSnapshot['requests'][typeof t];
    for (const k of REQUEST_KINDS) {
      total.requests[t][k] = { ok: 0, failed: 0 };
      for (const s of snapshots) {
        total.requests[t][k].ok += s.requests[t][k].ok;
        total.requests[t][k].failed += s.requests[t][k].failed;
      }
    }
  }
  for (const r of FAILURE_REASONS) total.failures[r] = snapshots.reduce((n, s) => n + s.failures[r], 0);
  for (const s of snapshots) {
    for (const t of TRANSPORTS) addHistogram(total.latency[t], s.latency[t]);
    addHistogram(total.store.roundTrips, s.store.roundTrips);
    total.store.errors += s.store.errors;
  }
  return total;
}

/** Prometheus's `le` label of bucket `i` (the last bucket is +Inf). */
export function bucketBound(i: number): string {
  return i < LATENCY_BUCKETS.length ? String(LATENCY_BUCKETS[i]) : '+Inf';
}

/** A histogram's lines: cumulative buckets, as Prometheus wants them, then sum and count. */
function histogramValues(name: string, labels: Labels, h: Histogram): MetricValue[] {
  const values: MetricValue[] = [];
  let cumulative = 0;
  h.buckets.forEach((n, i) => {
    cumulative += n;
    values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bucketBound(i) }, value: cumulative });
  });
  values.push({ metricName: `${name}_sum`, labels, value: h.sum }, { metricName: `${name}_count`, labels, value: h.count });
  return values;
}

/** Every (transport, kind) but HTTP connect, which does not exist (a UDP handshake only). */
function requestValues(s: StatsSnapshot): MetricValue[] {
  return TRANSPORTS.flatMap((transport) =>
    REQUEST_KINDS.filter((kind) => transport === 'udp' || kind !== 'connect').flatMap((kind) => [
      { labels: { transport, kind, outcome: 'ok' }, value: s.requests[transport][kind].ok },
      { labels: { transport, kind, outcome: 'failed' }, value: s.requests[transport][kind].failed },
    ]),
  );
}

/** The store's gauges: read once from the shared store, so `first`, never a sum over processes. */
function storeGauges(counts: StoreCounts): MetricJson[] {
  return [
    { name: 'tracker_swarms', help: 'Torrents with at least one live peer.', type: 'gauge', aggregator: 'first', values: [{ labels: {}, value: counts.swarms }] },
    {
      name: 'tracker_peers',
      help: 'Live peers of every swarm, by role.',
      type: 'gauge',
      aggregator: 'first',
      values: [
        { labels: { role: 'seeder' }, value: counts.seeders },
        { labels: { role: 'leecher' }, value: counts.peers - counts.seeders },
      ],
    },
  ];
}

/**
 * The tracker's own metrics. `counts` is null when the store could not be read (Redis down):
 * the store gauges are then left out rather than shown as zero.
 */
export function trackerMetrics(s: StatsSnapshot, counts: StoreCounts | null, processes: number): MetricJson[] {
  const metrics: MetricJson[] = [
    { name: 'tracker_requests_total', help: 'Requests answered, by transport, kind and outcome (ok or failed).', type: 'counter', aggregator: 'sum', values: requestValues(s) },
    {
      name: 'tracker_failures_total',
      help: 'Refused requests, by reason.',
      type: 'counter',
      aggregator: 'sum',
      values: FAILURE_REASONS.map((reason) => ({ labels: { reason }, value: s.failures[reason] })),
    },
    {
      name: 'tracker_answer_seconds',
      help: 'Time from a parsed announce or scrape to its encoded answer, by transport.',
      type: 'histogram',
      aggregator: 'sum',
      values: TRANSPORTS.flatMap((transport) => histogramValues('tracker_answer_seconds', { transport }, s.latency[transport])),
    },
    {
      name: 'tracker_store_round_trip_seconds',
      help: 'Round trips to a shared store (Redis).',
      type: 'histogram',
      aggregator: 'sum',
      values: histogramValues('tracker_store_round_trip_seconds', {}, s.store.roundTrips),
    },
    { name: 'tracker_store_errors_total', help: 'Shared store requests that failed (unreachable, timed out).', type: 'counter', aggregator: 'sum', values: [{ labels: {}, value: s.store.errors }] },
    { name: 'tracker_processes', help: 'Tracker processes whose numbers this answer adds up.', type: 'gauge', aggregator: 'first', values: [{ labels: {}, value: processes }] },
  ];
  return counts === null ? metrics : [...metrics, ...storeGauges(counts)];
}
