/**
 * What /metrics and /stats answer, from the reports of every process of one tracker (one for a
 * single process, one per worker with `--workers`) and the store's counts, read once.
 */
import promClient from 'prom-client';
import { TRANSPORTS, type StatsSnapshot } from './stats.ts';
import { bucketBound, sumSnapshots, trackerMetrics } from './exposition.ts';
import type { StoreCounts } from '../store/swarm-store.ts';

/** One tracker process's numbers, as it sends them (over IPC with `--workers`: plain JSON). */
export interface ProcessReport {
  pid: number;
  snapshot: StatsSnapshot;
  /** Its default process metrics (memory, CPU, event loop), from prom-client's getMetricsAsJSON(). */
  process: object[];
}

export interface TrackerReport {
  processes: ProcessReport[];
  /** null: the store could not be read in time. */
  counts: StoreCounts | null;
  /**
   * The last numbers reported by workers that have since died (`--workers`), so that counters
   * never go down when one is restarted (what it counted after its last report is lost).
   */
  retired?: StatsSnapshot;
}

/** Where the numbers come from: this process alone, or every worker of a cluster. */
export interface MetricsSource {
  collect(): Promise<TrackerReport>;
}

/**
 * Scrapes that arrive while one is being collected share its answer: a flood of /metrics on the
 * public port costs one collection at a time (IPC to every worker, a store round trip), not one each.
 */
export function coalesced(source: MetricsSource): MetricsSource {
  let inFlight: Promise<TrackerReport> | undefined;
  return {
    collect: () => (inFlight ??= source.collect().finally(() => (inFlight = undefined))),
  };
}

export const METRICS_CONTENT_TYPE = promClient.Registry.PROMETHEUS_CONTENT_TYPE;

/**
 * Prometheus text: the tracker's metrics from the summed counters, and the processes' default
 * metrics merged by prom-client's own rules (sums, except where a metric says otherwise).
 */
export async function metricsText(report: TrackerReport): Promise<string> {
  const total = totals(report);
  const tracker = trackerMetrics(total, report.counts, report.processes.length);
  const registry = promClient.AggregatorRegistry.aggregate([...report.processes.map((p) => p.process), tracker]);
  return registry.metrics();
}

/** Every live process's counters and the retired ones, added up. */
function totals(report: TrackerReport): StatsSnapshot {
  const snapshots = report.processes.map((p) => p.snapshot);
  return sumSnapshots(report.retired === undefined ? snapshots : [...snapshots, report.retired]);
}

type Histogram = StatsSnapshot['latency']['http'];

/**
 * A histogram for people: cumulative counts by upper bound, as in the Prometheus text (a list:
 * an object keyed by bound would list "1" first, integer-like keys being ordered apart).
 */
function histogramJson(h: Histogram): { count: number; sum: number; buckets: Array<{ le: string; count: number }> } {
  let cumulative = 0;
  const buckets = h.buckets.map((n, i) => {
    cumulative += n;
    return { le: bucketBound(i), count: cumulative };
  });
  return { count: h.count, sum: h.sum, buckets };
}

/** Requests answered (ok or failed) over both transports, by kind, and the failures among them. */
export function requestTotals(s: StatsSnapshot): { announces: number; scrapes: number; connects: number; failed: number } {
  let announces = 0;
  let scrapes = 0;
  let connects = 0;
  let failed = 0;
  for (const t of TRANSPORTS) {
    const r = s.requests[t];
    announces += r.announce.ok + r.announce.failed;
    scrapes += r.scrape.ok + r.scrape.failed;
    connects += r.connect.ok + r.connect.failed;
    failed += r.announce.failed + r.scrape.failed + r.connect.failed;
  }
  return { announces, scrapes, connects, failed };
}

/** The JSON of /stats: the same numbers as /metrics, plus each process's share by pid. */
export function statsJson(report: TrackerReport): object {
  const total = totals(report);
  const c = report.counts;
  return {
    swarms: c?.swarms ?? null,
    peers: c?.peers ?? null,
    seeders: c?.seeders ?? null,
    leechers: c === null ? null : c.peers - c.seeders,
    requests: total.requests,
    failures: total.failures,
    latency_seconds: { http: histogramJson(total.latency.http), udp: histogramJson(total.latency.udp) },
    store: { round_trip_seconds: histogramJson(total.store.roundTrips), errors: total.store.errors },
    processes: report.processes.map((p) => ({ pid: p.pid, ...requestTotals(p.snapshot) })),
  };
}
