/**
 * tracker-redis: our tracker with `--store redis://` against the same tracker with its in-memory
 * store, in the same run; `--workers 2` on Redis against one process on Redis; and Redis's memory
 * per 100,000 peers.
 *
 * One redis-server (harness/redis.ts: a free port, a temporary folder, no persistence). Three
 * trackers of ours run side by side: memory store, one process on Redis, `--workers 2` on the same
 * Redis database. The memory tracker and the Redis one are pre-populated with the HTTP scenario's
 * 10,000 torrents x 20 peers (the same HTTP loader); the two Redis setups share those swarms. Load:
 * wrk keep-alive (the HTTP scenario's, bench/announce.lua) and, when our tracker has its UDP side,
 * bench/udp-load.c; setups alternate within each round, and each answers a sample announce listing
 * the swarm before it is timed and after.
 *
 * Memory: Redis's `used_memory` (INFO memory) before and after the pre-population; the memory
 * store's figure beside it is the tracker's VmRSS growth over the same pre-population.
 */
import path from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { Redis } from 'ioredis';
import { tempDir } from '../harness/procs.ts';
import { redisMissing, startRedis, type RedisServer } from '../harness/redis.ts';
import { median, type RoundResult, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenario.ts';
import { ROOT, KiB, MiB, cpuSeconds, statusKiB, stop, sleep, r2 } from './support.ts';
import { missingProgram } from './anchors.ts';
import { benchInfoHashes, writeHashFile, sampleAnnounce, runWrk, type RunningTracker, type WrkResult } from './tracker-load.ts';
import { buildUdpLoad, runUdpLoad, checkUdpLoad } from './udp-load.ts';
import { startOursUdp, populateOver, verifyUdp, oursWithoutUdp, UDP_TORRENTS as TORRENTS, UDP_PEERS as PEERS } from './udp-trackers.ts';

const SECONDS = 10;
const WRK = { threads: 2, connections: 64 } as const;
const TARGET = 0.35;
const SETUPS = ['memory', 'redis', 'redis-workers-2'] as const;
type Setup = (typeof SETUPS)[number];
type Transport = 'http' | 'udp';
const NAMES: Record<Setup, string> = { memory: 'memory store', redis: '--store redis (1 process)', 'redis-workers-2': '--store redis --workers 2' };

interface Measure {
  perSecond: number;
  p99Ms: number;
  /** redis-server's CPU over the run, in cores (seconds of CPU per second). */
  redisCores: number;
  /** CPU per answered announce: the tracker's processes (a cluster's primary and workers), redis-server. */
  trackerUs: number;
  redisUs: number;
}

/** The pids whose parent is `pid` (a `--workers` primary's workers). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU seconds of `pid` and its children (a child gone meanwhile counts 0). */
function treeCpuSeconds(pid: number): number {
  const of = (p: number) => {
    try {
      return cpuSeconds(p);
    } catch {
      return 0;
    }
  };
  return childPids(pid).reduce((sum, p) => sum + of(p), of(pid));
}

function oursWithoutRedis(): string | undefined {
  return existsSync(path.join(ROOT, 'dist', 'tracker', 'store', 'redis-store.js')) ? undefined : 'this build of our tracker has no Redis store (no dist/tracker/store/redis-store.js)';
}

async function usedMemory(url: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const m = /^used_memory:(\d+)/m.exec(await client.info('memory'));
    if (!m) throw new Error('INFO memory has no used_memory line');
    return Number(m[1]);
  } finally {
    client.disconnect();
  }
}

async function verifyHttp(t: RunningTracker, hashes: Buffer[]): Promise<string> {
  const s = await sampleAnnounce(t.port, hashes[Math.floor(Math.random() * hashes.length)]!, PEERS);
  if (s.peers < PEERS - 1 || s.complete + s.incomplete < PEERS) throw new Error(`HTTP sample announce lists ${s.peers} peers, ${s.complete} complete + ${s.incomplete} incomplete; want >= ${PEERS - 1} of ${PEERS}`);
  return `${s.peers} peers, complete ${s.complete}, incomplete ${s.incomplete}`;
}

/** Start the three setups; pre-populate memory and Redis, measuring what the swarms cost each. */
async function startSetups(dir: string, redis: RedisServer, hashes: Buffer[], udp: boolean, log: (l: string) => void) {
  const trackers = new Map<Setup, RunningTracker>();
  const args: Record<Setup, string[]> = { memory: [], redis: ['--store', redis.url], 'redis-workers-2': ['--store', redis.url, '--workers', '2'] };
  const memory: Record<string, number> = {};
  let noWorkers: string | undefined;
  for (const setup of SETUPS) {
    const t = await startOursUdp(dir, args[setup], { udp });
    if (setup === 'redis-workers-2') {
      // A build without the cluster parses --workers but runs one process: not what the row claims.
      const workers = childPids(t.pid).length;
      if (workers < 2) {
        noWorkers = `this build ran ${workers} worker process(es) for --workers 2 (no node:cluster in it)`;
        await stop(t.proc);
        continue;
      }
      trackers.set(setup, t);
      continue; // shares the swarms the 1-process setup announced
    }
    trackers.set(setup, t);
    await sleep(500);
    const before = setup === 'memory' ? statusKiB(t.pid, 'VmRSS') * KiB : await usedMemory(redis.url);
    const rate = await populateOver(t, hashes);
    await sleep(1000);
    const after = setup === 'memory' ? statusKiB(t.pid, 'VmRSS') * KiB : await usedMemory(redis.url);
    memory[setup] = ((after - before) / MiB) * (100_000 / (TORRENTS * PEERS));
    log(`${NAMES[setup]} on ${t.port}: pre-populated ${TORRENTS} x ${PEERS} at ${rate.toFixed(0)} announces/s; ${setup === 'memory' ? 'tracker VmRSS' : 'Redis used_memory'} ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB`);
  }
  for (const [setup, t] of trackers) log(`${NAMES[setup]}: HTTP sample ${await verifyHttp(t, hashes)}${udp ? `; UDP sample ${await verifyUdp(t, hashes)}` : ''}`);
  return { trackers, memory, noWorkers };
}

async function measure(transport: Transport, t: RunningTracker, bin: string | undefined, hashFile: string, redis: RedisServer): Promise<Measure> {
  const pid = redis.proc()!.child.pid!;
  const cpu0 = cpuSeconds(pid);
  const tracker0 = treeCpuSeconds(t.pid);
  const t0 = performance.now();
  let perSecond: number;
  let p99Ms: number;
  let answered: number;
  if (transport === 'http') {
    const w: WrkResult = await runWrk(t.port, hashFile, PEERS, { close: false, seconds: SECONDS, ...WRK });
    if (w.requests === 0 || w.statusErrors > 0 || w.errors > w.requests * 0.001) throw new Error(`wrk: ${w.requests} requests, ${w.statusErrors} non-2xx, ${w.errors} errors`);
    ({ requestsPerSecond: perSecond, p99Ms, requests: answered } = w);
  } else {
    const u = await runUdpLoad(bin!, t.port, hashFile, PEERS, { seconds: SECONDS });
    checkUdpLoad('ours', u, 18);
    ({ announcesPerSecond: perSecond, p99Ms, announces: answered } = u);
  }
  const redisCpu = cpuSeconds(pid) - cpu0;
  const trackerUs = ((treeCpuSeconds(t.pid) - tracker0) * 1e6) / Math.max(1, answered);
  return { perSecond, p99Ms, redisCores: redisCpu / ((performance.now() - t0) / 1000), trackerUs, redisUs: (redisCpu * 1e6) / Math.max(1, answered) };
}

async function run(opts: ScenarioOptions): Promise<ScenarioResult[]> {
  const { log } = opts;
  const tmp = await tempDir('p2p-bench-redis-');
  const skip = redisMissing() ?? oursWithoutRedis();
  const noWrk = missingProgram('wrk', 'wrk');
  let noUdp = oursWithoutUdp();
  const results: Record<Transport, Record<Setup, Measure[]>> = {
    http: { memory: [], redis: [], 'redis-workers-2': [] },
    udp: { memory: [], redis: [], 'redis-workers-2': [] },
  };
  let memory: Record<string, number> = {};
  let noWorkers: string | undefined;
  let redis: RedisServer | undefined;
  const trackers = new Map<Setup, RunningTracker>();
  try {
    if (skip) return rowsOf(results, memory, { http: skip, udp: skip }, skip);
    const built = noUdp ? {} : await buildUdpLoad(tmp.dir);
    noUdp ??= built.skipped;
    const transports = (['http', 'udp'] as Transport[]).filter((t) => (t === 'http' ? !noWrk : !noUdp));
    const hashes = benchInfoHashes(TORRENTS);
    const hashFile = path.join(tmp.dir, 'hashes.txt');
    await writeHashFile(hashFile, hashes);
    redis = await startRedis();
    const started = await startSetups(tmp.dir, redis, hashes, !noUdp, log);
    for (const [k, t] of started.trackers) trackers.set(k, t);
    memory = started.memory;
    noWorkers = started.noWorkers;
    if (noWorkers) log(`SKIPPED --workers 2: ${noWorkers}`);
    for (let r = 1; r <= opts.rounds; r++) {
      for (const transport of transports) {
        for (const setup of SETUPS.filter((x) => trackers.has(x))) {
          const t = trackers.get(setup)!;
          const m = await measure(transport, t, built.bin, hashFile, redis).then(async (x) => (await verifyHttp(t, hashes), x)).catch((e: Error) => {
            // A tracker that died under the load: say how, with its last words.
            const c = t.proc.child;
            if (c.exitCode === null && c.signalCode === null) throw e;
            throw new Error(`${NAMES[setup]} exited (${c.exitCode ?? c.signalCode}) during the ${transport} run: ${e.message}\n${t.proc.err().slice(-2000)}`);
          });
          results[transport][setup].push(m);
          log(`round ${r}/${opts.rounds} ${transport} ${NAMES[setup].padEnd(26)} ${m.perSecond.toFixed(0).padStart(6)}/s  p99 ${m.p99Ms.toFixed(2)} ms  CPU/announce: tracker ${m.trackerUs.toFixed(1)} us, redis-server ${m.redisUs.toFixed(1)} us (${m.redisCores.toFixed(2)} cores)  (load ${os.loadavg()[0]!.toFixed(2)})`);
          await sleep(500);
        }
      }
    }
    return rowsOf(results, memory, { http: noWrk, udp: noUdp }, noWorkers);
  } finally {
    await Promise.all([...trackers.values()].map((t) => stop(t.proc)));
    await redis?.close();
    await tmp.remove();
  }
}

function rowsOf(results: Record<Transport, Record<Setup, Measure[]>>, memory: Record<string, number>, skipped: Record<Transport, string | undefined>, noWorkers: string | undefined): ScenarioResult[] {
  const rows: ScenarioResult[] = [];
  const pair = (transport: Transport, ours: Setup, anchor: Setup, f: (m: Measure) => number): RoundResult[] =>
    results[transport][ours].map((m, i) => ({ ours: r2(f(m)), anchor: results[transport][anchor][i] ? r2(f(results[transport][anchor][i]!)) : NaN, detail: { ours: m, anchor: results[transport][anchor][i] } }));
  for (const transport of ['http', 'udp'] as Transport[]) {
    const what = transport === 'http' ? 'HTTP keep-alive requests/s' : 'UDP announces/s';
    const unit = transport === 'http' ? 'req/s' : 'announces/s';
    rows.push({ label: what, ours: NAMES.redis, anchor: NAMES.memory, unit, target: { op: '>=', value: TARGET }, rounds: pair(transport, 'redis', 'memory', (m) => m.perSecond), skipped: skipped[transport] });
    rows.push({ label: what, ours: NAMES['redis-workers-2'], anchor: NAMES.redis, unit, rounds: pair(transport, 'redis-workers-2', 'redis', (m) => m.perSecond), skipped: skipped[transport] ?? noWorkers });
  }
  const anySkip = skipped.http && skipped.udp ? skipped.http : undefined;
  if (memory['redis'] !== undefined && memory['memory'] !== undefined) {
    rows.push({ label: 'memory per 100,000 peers', ours: 'Redis used_memory growth', anchor: 'memory store: tracker VmRSS growth', unit: 'MiB', rounds: [{ ours: r2(memory['redis']), anchor: r2(memory['memory']) }] });
  } else {
    rows.push({ label: 'memory per 100,000 peers', ours: 'Redis used_memory growth', anchor: 'memory store: tracker VmRSS growth', unit: 'MiB', rounds: [], skipped: anySkip ?? 'not measured' });
  }
  const notes: string[] = [];
  for (const transport of ['http', 'udp'] as Transport[]) {
    const parts = SETUPS.filter((s) => results[transport][s].length).map((s) => {
      const ms = results[transport][s];
      const med = (f: (m: Measure) => number) => median(ms.map(f));
      return `${NAMES[s]} ${med((m) => m.perSecond).toFixed(0)}/s, p99 ${med((m) => m.p99Ms).toFixed(2)} ms, CPU per announce: tracker ${med((m) => m.trackerUs).toFixed(1)} us + redis-server ${med((m) => m.redisUs).toFixed(1)} us (${med((m) => m.redisCores).toFixed(2)} cores)`;
    });
    if (parts.length) notes.push(`${transport} medians: ${parts.join('; ')}`);
  }
  notes.push(`load: wrk -t${WRK.threads} -c${WRK.connections} -d${SECONDS}s -s bench/announce.lua (keep-alive) and bench/udp-load.c (${SECONDS} s); ${TORRENTS} torrents x ${PEERS} peers pre-populated; the two Redis setups share one redis-server database`);
  rows[0]!.notes = notes;
  rows[0]!.detail = { torrents: TORRENTS, peersPerTorrent: PEERS, memoryMiBPer100kPeers: memory, seconds: SECONDS };
  return rows;
}

export const scenario: Scenario = {
  name: 'tracker-redis',
  description: `our tracker on Redis vs its memory store, --workers 2 vs 1 process on Redis, Redis memory per 100k peers (${TORRENTS} torrents x ${PEERS} peers)`,
  run,
};
export default scenario;
