/**
 * /metrics and /stats from the counters: the Prometheus text parsed back (names, types, labels,
 * cumulative histogram buckets), reports of several processes added up (the store's gauges
 * taken once, never summed), and /stats carrying the same numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySwarmStore } from '../../../src/tracker/store/memory-store.ts';
import type { SwarmStore } from '../../../src/tracker/store/swarm-store.ts';
import { TrackerService, trackerConfig } from '../../../src/tracker/service.ts';
import { HttpTrackerHandler } from '../../../src/tracker/http/handler.ts';
import { LATENCY_BUCKETS, TrackerStats } from '../../../src/tracker/metrics/stats.ts';
import { coalesced, metricsText, statsJson, type TrackerReport } from '../../../src/tracker/metrics/report.ts';
import { localMetricsSource, processReport, storeCounts } from '../../../src/tracker/metrics/local-source.ts';
import { buckets, parseExposition, sample, type Exposition } from './prom-text.ts';

const announce = (hashByte: string, port: number, left: number) => `info_hash=${hashByte.repeat(20)}&peer_id=${'%02'.repeat(20)}&port=${port}&left=${left}&compact=1`;

/** A service over the memory store with three announces (2 swarms, 1 seeder), a bad one and a scrape. */
async function busyService(): Promise<TrackerService> {
  const service = new TrackerService(new MemorySwarmStore(60_000), trackerConfig(30));
  const handler = new HttpTrackerHandler(service);
  await handler.announce(announce('%01', 7001, 0), '127.0.0.1', undefined);
  await handler.announce(announce('%01', 7002, 5), '127.0.0.2', undefined);
  await handler.announce(announce('%03', 7003, 5), '127.0.0.3', undefined);
  await handler.announce('info_hash=short', '127.0.0.1', undefined);
  await handler.scrape(`info_hash=${'%01'.repeat(20)}`);
  return service;
}

/** Check every histogram of `e`: buckets at our bounds then +Inf, cumulative, +Inf = _count. */
function assertHistogram(e: Exposition, name: string, labels: Record<string, string>, count: number, sum: number): void {
  const b = buckets(e, name, labels);
  assert.deepEqual(
    b.map((x) => x.le),
    [...LATENCY_BUCKETS, Infinity],
  );
  for (let i = 1; i < b.length; i++) assert.ok(b[i]!.count >= b[i - 1]!.count, `${name} buckets cumulative`);
  assert.equal(b.at(-1)!.count, count);
  assert.equal(sample(e, `${name}_count`, labels), count);
  assert.ok(Math.abs(sample(e, `${name}_sum`, labels) - sum) < 1e-9, `${name}_sum`);
  assert.equal(e.types.get(name), 'histogram');
}

test('one process: requests by transport, kind and outcome, failures by reason, store gauges, latency histograms', async () => {
  const service = await busyService();
  const stats = service.stats;
  stats.answered('udp', 'connect', true);
  stats.answered('udp', 'announce', false, 0.0003);
  stats.failed('bad_connection_id');
  stats.storeRoundTrip(0.0004);
  stats.storeRoundTrip(3);
  stats.storeError();
  const e = parseExposition(await metricsText(await localMetricsSource(service).collect()));

  assert.equal(sample(e, 'tracker_requests_total', { transport: 'http', kind: 'announce', outcome: 'ok' }), 3);
  assert.equal(sample(e, 'tracker_requests_total', { transport: 'http', kind: 'announce', outcome: 'failed' }), 1);
  assert.equal(sample(e, 'tracker_requests_total', { transport: 'http', kind: 'scrape', outcome: 'ok' }), 1);
  assert.equal(sample(e, 'tracker_requests_total', { transport: 'udp', kind: 'connect', outcome: 'ok' }), 1);
  assert.equal(sample(e, 'tracker_requests_total', { transport: 'udp', kind: 'announce', outcome: 'failed' }), 1);
  assert.equal(e.samples.filter((s) => s.name === 'tracker_requests_total' && s.labels['transport'] === 'http' && s.labels['kind'] === 'connect').length, 0, 'no HTTP connect');
  assert.equal(sample(e, 'tracker_failures_total', { reason: 'bad_request' }), 1);
  assert.equal(sample(e, 'tracker_failures_total', { reason: 'bad_connection_id' }), 1);
  assert.equal(sample(e, 'tracker_failures_total', { reason: 'not_registered' }), 0);
  assert.equal(sample(e, 'tracker_swarms'), 2);
  assert.equal(sample(e, 'tracker_peers', { role: 'seeder' }), 1);
  assert.equal(sample(e, 'tracker_peers', { role: 'leecher' }), 2);
  assert.equal(sample(e, 'tracker_store_errors_total'), 1);
  assert.equal(sample(e, 'tracker_processes'), 1);
  assert.equal(e.types.get('tracker_requests_total'), 'counter');
  assert.equal(e.types.get('tracker_swarms'), 'gauge');

  const snap = stats.snapshot();
  assertHistogram(e, 'tracker_answer_seconds', { transport: 'http' }, 5, snap.latency.http.sum);
  assertHistogram(e, 'tracker_answer_seconds', { transport: 'udp' }, 1, 0.0003);
  assert.equal(buckets(e, 'tracker_answer_seconds', { transport: 'udp' }).find((b) => b.le === 0.00025)!.count, 0);
  assert.equal(buckets(e, 'tracker_answer_seconds', { transport: 'udp' }).find((b) => b.le === 0.0005)!.count, 1);
  assertHistogram(e, 'tracker_store_round_trip_seconds', {}, 2, 3.0004);
  const store = buckets(e, 'tracker_store_round_trip_seconds');
  assert.equal(store.find((b) => b.le === 2.5)!.count, 1, '3 s is over the last bound');
  // The default process metrics come along.
  assert.ok(sample(e, 'process_resident_memory_bytes') > 0, `process_resident_memory_bytes is reported: ${sample(e, 'process_resident_memory_bytes')}`);
  assert.equal(e.types.get('process_cpu_user_seconds_total'), 'counter');
});

test('several processes add up; the shared store is counted once; retired workers still count', async () => {
  const a = await busyService();
  const b = await busyService();
  const retired = new TrackerStats();
  retired.answered('http', 'announce', true, 0.001);
  const ra = await processReport(a);
  const rb = { ...(await processReport(b)), pid: ra.pid + 1 };
  const report: TrackerReport = { processes: [ra, rb], counts: { swarms: 7, peers: 9, seeders: 4 }, retired: retired.snapshot() };
  const e = parseExposition(await metricsText(report));
  assert.equal(sample(e, 'tracker_requests_total', { transport: 'http', kind: 'announce', outcome: 'ok' }), 3 + 3 + 1);
  assert.equal(sample(e, 'tracker_failures_total', { reason: 'bad_request' }), 2);
  assert.equal(sample(e, 'tracker_swarms'), 7, 'not 14: the store is shared');
  assert.equal(sample(e, 'tracker_peers', { role: 'leecher' }), 5);
  assert.equal(sample(e, 'tracker_processes'), 2);
  assertHistogram(e, 'tracker_answer_seconds', { transport: 'http' }, 11, a.stats.snapshot().latency.http.sum + b.stats.snapshot().latency.http.sum + 0.001);
  const rss = (r: typeof ra) => (r.process as Array<{ name: string; values: Array<{ value: number }> }>).find((m) => m.name === 'process_resident_memory_bytes')!.values[0]!.value;
  assert.equal(sample(e, 'process_resident_memory_bytes'), rss(ra) + rss(rb), 'process memory is the sum over the workers');

  const json = statsJson(report) as Record<string, unknown>;
  assert.equal(json['swarms'], 7);
  assert.equal(json['leechers'], 5);
  assert.deepEqual((json['requests'] as Record<string, Record<string, unknown>>)['http']!['announce'], { ok: 7, failed: 2 });
  assert.deepEqual(json['processes'], [
    { pid: ra.pid, announces: 4, scrapes: 1, connects: 0, failed: 1 },
    { pid: ra.pid + 1, announces: 4, scrapes: 1, connects: 0, failed: 1 },
  ]);
  const latency = (json['latency_seconds'] as Record<string, { count: number; buckets: Array<{ le: string; count: number }> }>)['http']!;
  assert.equal(latency.count, 11);
  assert.deepEqual(
    latency.buckets.map((x) => x.le),
    [...LATENCY_BUCKETS.map(String), '+Inf'],
  );
  assert.equal(latency.buckets.at(-1)!.count, 11);
});

test('a store that cannot be read: no store gauges (not zeros), the rest answered, within the timeout', async () => {
  const service = await busyService();
  const never: SwarmStore = { ...service.store, counts: () => new Promise(() => {}) };
  const stuck = new TrackerService(never, service.config, { stats: service.stats });
  const started = Date.now();
  assert.equal(await storeCounts(stuck, 200), null);
  assert.ok(Date.now() - started < 1000, `a stuck store gives up within 1 s: ${Date.now() - started} ms`);
  const failing: SwarmStore = { ...service.store, counts: () => Promise.reject(new Error('down')) };
  assert.equal(await storeCounts(new TrackerService(failing, service.config), 200), null);

  const report: TrackerReport = { processes: [await processReport(stuck)], counts: null };
  const e = parseExposition(await metricsText(report));
  assert.equal(e.samples.filter((s) => s.name === 'tracker_swarms' || s.name === 'tracker_peers').length, 0);
  assert.equal(sample(e, 'tracker_requests_total', { transport: 'http', kind: 'announce', outcome: 'ok' }), 3);
  const json = statsJson(report) as Record<string, unknown>;
  assert.equal(json['swarms'], null);
  assert.equal(json['leechers'], null);
});

test('scrapes during a collection share it; the next one collects afresh', async () => {
  let calls = 0;
  let release!: () => void;
  const source = coalesced({
    collect: async () => {
      calls++;
      await new Promise<void>((resolve) => (release = resolve));
      return { processes: [], counts: null };
    },
  });
  const together = [source.collect(), source.collect(), source.collect()];
  release();
  const [a, b, c] = await Promise.all(together);
  assert.equal(calls, 1);
  assert.ok(a === b && b === c, 'the three callers got the same counts');
  const later = source.collect();
  release();
  await later;
  assert.equal(calls, 2);
});
