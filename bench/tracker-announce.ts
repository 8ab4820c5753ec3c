/**
 * tracker-announce: announces per second and p99 latency of our tracker under wrk, against
 * opentracker (C, libowfat) and bittorrent-tracker (Node, webtorrent's), each in its own process.
 *
 * Every tracker is pre-populated with the same 10,000 torrents x 20 peers (200,000 announces over
 * HTTP by the same loader, bench/tracker-load.ts) and answers a sample announce that must decode
 * and list peers before it is timed. Then wrk (2 threads, 64 connections, 10 s, bench/announce.lua)
 * re-announces random peers of random torrents (fresh random peer_id, compact=1, numwant=50),
 * with keep-alive and with `Connection: close`; trackers alternate within each round
 * (opentracker, bittorrent-tracker, ours), every round, for both variants.
 *
 * opentracker answers HTTP/1.1 but closes every connection after its answer: its keep-alive and
 * close runs are both one request per connection (wrk counts each close as a read error).
 *
 * Each round also loads the Node floor (bench/floor-server.mjs: a fixed answer, no work) under
 * both loads: `net` for keep-alive, `close` (one request per connection, answered and closed on
 * libuv's handles as our raw accept does) for `Connection: close`. It is the ceiling of any Node
 * server here: information for keep-alive, a target for close (>= 0.7x opentracker, or >= 0.8x
 * the floor when Node's own accept path is the limit).
 *
 * After the rounds (untimed), ours is run once more under `node --cpu-prof` with the keep-alive
 * load, and the profile is summarised over the wrk window only (not the pre-population).
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { freePort, runProgram, tempDir, type Proc } from '../harness/procs.ts';
import { median, type RoundResult, type Scenario, type ScenarioOptions, type ScenarioResult, type ProfileRef } from './scenario.ts';
import { stop, sleep, r2, HERE } from './support.ts';
import { missingProgram, npmAnchor, anchorVersion, programVersion } from './anchors.ts';
import { benchInfoHashes, writeHashFile, populate, sampleAnnounce, startTracker, runWrk, type RunningTracker, type TrackerKind, type WrkResult } from './tracker-load.ts';

const TORRENTS = 10_000;
const PEERS = 20;
const SECONDS = 10;
const THREADS = 2;
const CONNECTIONS = 64;
const ANCHORS: Array<Exclude<TrackerKind, 'ours'>> = ['opentracker', 'bittorrent-tracker'];
const TARGETS: Record<'keep-alive' | 'close', Partial<Record<TrackerKind, number>>> = {
  'keep-alive': { opentracker: 0.7, 'bittorrent-tracker': 6 },
  close: { opentracker: 0.7 },
};
type Variant = keyof typeof TARGETS;
const VARIANTS: Variant[] = ['keep-alive', 'close'];
/** Ours / the Node floor: information for keep-alive; for close, the target when the floor is the limit. */
const FLOOR_TARGETS: Partial<Record<Variant, number>> = { close: 0.8 };

/** bench/floor-server.mjs on a free port: `net` (keep-alive) or `close` (one request per connection). */
export async function startFloorServer(dir: string, mode: 'net' | 'close'): Promise<{ port: number; proc: Proc; how: string }> {
  const port = await freePort();
  const proc = runProgram(`node-floor-${mode}`, [process.execPath, path.join(HERE, 'floor-server.mjs'), mode, String(port)], { cwd: dir });
  const [line] = (await proc.waitFor(/floor server \((?:net|close)[^)]*\) on/, 30_000)) as RegExpMatchArray & [string];
  return { port, proc, how: line };
}

async function verify(t: RunningTracker, hashes: Buffer[]): Promise<string> {
  const s = await sampleAnnounce(t.port, hashes[Math.floor(Math.random() * hashes.length)]!, PEERS);
  // Ours and bittorrent-tracker leave the announcing peer out (19 others); opentracker lists it.
  if (s.peers < PEERS - 1 || s.complete + s.incomplete < PEERS) {
    throw new Error(`${t.kind}: sample announce lists ${s.peers} peers, ${s.complete} complete + ${s.incomplete} incomplete; want >= ${PEERS - 1} peers of ${PEERS}`);
  }
  return `${s.peers} peers, complete ${s.complete}, incomplete ${s.incomplete}, ${s.bytes} bytes`;
}

function checkWrk(kind: TrackerKind, w: WrkResult): void {
  if (w.requests === 0) throw new Error(`${kind}: wrk completed no request`);
  if (w.statusErrors > 0) throw new Error(`${kind}: ${w.statusErrors} non-2xx answers under load`);
  if (w.errors > w.requests * 0.001) throw new Error(`${kind}: ${w.errors} connect/write errors or timeouts under load (${w.requests} requests)`);
}

async function run(opts: ScenarioOptions): Promise<ScenarioResult[]> {
  const { log } = opts;
  const skip: Partial<Record<TrackerKind, string>> = {};
  const noWrk = missingProgram('wrk', 'wrk');
  if (noWrk) for (const k of ['ours', ...ANCHORS] as TrackerKind[]) skip[k] = noWrk;
  skip['opentracker'] ??= missingProgram('opentracker', 'opentracker');
  skip['bittorrent-tracker'] ??= await npmAnchor('bittorrent-tracker', log);
  for (const [k, why] of Object.entries(skip)) if (why) log(`SKIPPED ${k}: ${why}`);
  const kinds = ([...ANCHORS, 'ours'] as TrackerKind[]).filter((k) => !skip[k]);

  const tmp = await tempDir('p2p-bench-tracker-');
  const trackers = new Map<TrackerKind, RunningTracker>();
  const results: Record<Variant, Record<TrackerKind, WrkResult[]>> = {
    'keep-alive': { ours: [], opentracker: [], 'bittorrent-tracker': [] },
    close: { ours: [], opentracker: [], 'bittorrent-tracker': [] },
  };
  const floor: Record<Variant, WrkResult[]> = { 'keep-alive': [], close: [] };
  const floorServers: Partial<Record<Variant, { port: number; proc: Proc; how: string }>> = {};
  const notes: string[] = [];
  const profiles: ProfileRef[] = [];
  const populateRates: Record<string, number> = {};
  const samples: Record<string, string> = {};
  try {
    const hashes = benchInfoHashes(TORRENTS);
    const hashFile = path.join(tmp.dir, 'whitelist.txt');
    await writeHashFile(hashFile, hashes);

    for (const kind of kinds) {
      const t = await startTracker(kind, tmp.dir, hashFile);
      trackers.set(kind, t);
      const rate = await populate(t.port, hashes, PEERS, { keepAlive: kind !== 'opentracker' });
      populateRates[kind] = Math.round(rate);
      samples[kind] = await verify(t, hashes);
      log(`${kind} on ${t.port}: pre-populated ${TORRENTS} x ${PEERS} peers at ${rate.toFixed(0)} announces/s; sample announce: ${samples[kind]}`);
    }

    if (!skip['ours']) {
      floorServers['keep-alive'] = await startFloorServer(tmp.dir, 'net');
      floorServers.close = await startFloorServer(tmp.dir, 'close');
      log(`Node floors: ${floorServers['keep-alive'].how}; ${floorServers.close.how}`);
    }
    for (let r = 1; r <= (kinds.length ? opts.rounds : 0); r++) {
      for (const variant of VARIANTS) {
        const floorServer = floorServers[variant];
        if (floorServer) {
          const w = await runWrk(floorServer.port, hashFile, PEERS, { close: variant === 'close', seconds: SECONDS, threads: THREADS, connections: CONNECTIONS });
          checkWrk('ours', w);
          floor[variant].push(w);
          log(`round ${r}/${opts.rounds} ${variant.padEnd(10)} ${'Node floor'.padEnd(18)} ${w.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${w.p50Ms.toFixed(2)} ms  p99 ${w.p99Ms.toFixed(2)} ms  (fixed answer, no work)`);
          await sleep(500);
        }
        for (const kind of kinds) {
          const t = trackers.get(kind)!;
          const w = await runWrk(t.port, hashFile, PEERS, { close: variant === 'close', seconds: SECONDS, threads: THREADS, connections: CONNECTIONS });
          checkWrk(kind, w);
          await verify(t, hashes);
          results[variant][kind].push(w);
          log(`round ${r}/${opts.rounds} ${variant.padEnd(10)} ${kind.padEnd(18)} ${w.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${w.p50Ms.toFixed(2)} ms  p99 ${w.p99Ms.toFixed(2)} ms  (${w.bytesPerResponse.toFixed(0)} B/answer, load ${os.loadavg()[0]!.toFixed(2)})`);
          await sleep(500);
        }
      }
    }

    for (const f of Object.values(floorServers)) await stop(f.proc);

    // Untimed: a CPU profile of ours under the keep-alive load, over the wrk window only.
    if (opts.profileDir && !skip['ours']) {
      await mkdir(opts.profileDir, { recursive: true });
      const name = 'tracker-announce.cpuprofile';
      const t = await startTracker('ours', tmp.dir, hashFile, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`, `--cpu-prof-name=${name}`] });
      try {
        await populate(t.port, hashes, PEERS);
        await verify(t, hashes);
        const fromUs = Number(process.hrtime.bigint() / 1000n);
        const w = await runWrk(t.port, hashFile, PEERS, { close: false, seconds: SECONDS, threads: THREADS, connections: CONNECTIONS });
        const toUs = Number(process.hrtime.bigint() / 1000n);
        log(`profiled run (node --cpu-prof): ${w.requestsPerSecond.toFixed(0)} req/s keep-alive`);
        await stop(t.proc, 15_000); // the profile is written as the process exits
        profiles.push({ title: `tracker: node --cpu-prof dist/tracker.js under wrk keep-alive (${SECONDS} s, ${w.requestsPerSecond.toFixed(0)} req/s while profiled)`, file: path.join(opts.profileDir, name), window: { fromUs, toUs } });
      } finally {
        await stop(t.proc);
      }
    }
  } finally {
    await Promise.all([...trackers.values(), ...Object.values(floorServers)].map((t) => stop(t.proc)));
    await tmp.remove();
  }

  const med = (xs: WrkResult[], f: (w: WrkResult) => number) => median(xs.map(f));
  for (const variant of VARIANTS) {
    const parts = (['ours', ...ANCHORS] as TrackerKind[])
      .filter((k) => results[variant][k].length)
      .map((k) => `${k} ${med(results[variant][k], (w) => w.requestsPerSecond).toFixed(0)} req/s, p50 ${med(results[variant][k], (w) => w.p50Ms).toFixed(2)} ms, p99 ${med(results[variant][k], (w) => w.p99Ms).toFixed(2)} ms, ${med(results[variant][k], (w) => w.bytesPerResponse).toFixed(0)} B/answer`);
    notes.push(`${variant} medians: ${parts.join('; ')}`);
  }
  notes.push(`load: wrk -t${THREADS} -c${CONNECTIONS} -d${SECONDS}s -s bench/announce.lua; ${TORRENTS} torrents x ${PEERS} peers pre-populated (announces/s of the loader: ${Object.entries(populateRates).map(([k, v]) => `${k} ${v}`).join(', ')}); opentracker closes every connection after its answer, so its keep-alive runs are one request per connection too`);

  const detail = {
    torrents: TORRENTS,
    peersPerTorrent: PEERS,
    wrk: { threads: THREADS, connections: CONNECTIONS, seconds: SECONDS },
    versions: {
      opentracker: skip['opentracker'] ? undefined : programVersion(['dpkg-query', '-W', '-f', '${Version}', 'opentracker']),
      'bittorrent-tracker': skip['bittorrent-tracker'] ? undefined : anchorVersion('bittorrent-tracker'),
      wrk: skip['ours'] ? undefined : programVersion(['dpkg-query', '-W', '-f', '${Version}', 'wrk']),
    },
    populateRates,
    samples,
  };

  for (const variant of VARIANTS) {
    if (!floor[variant].length) continue;
    const f = med(floor[variant], (w) => w.requestsPerSecond);
    const btt = results[variant]['bittorrent-tracker'];
    const vsBtt = btt.length ? `; the floor is ${(f / med(btt, (w) => w.requestsPerSecond)).toFixed(2)}x bittorrent-tracker` : '';
    const what = variant === 'close' ? 'close: one request per connection, on libuv handles' : 'net: keep-alive, reads into one shared buffer';
    notes.push(`Node floor (bench/floor-server.mjs ${what}; fixed 300-byte answer, no parsing, no store), ${variant}: ${f.toFixed(0)} req/s; ours is ${(med(results[variant]['ours'], (w) => w.requestsPerSecond) / f).toFixed(2)}x the floor${vsBtt}`);
  }
  notes.push('Connection: close target (issue #16): >= 0.7x opentracker, or >= 0.8x the Node floor under the same load when Node\'s own accept path is the limit: either row passing meets it');

  const rows: ScenarioResult[] = [];
  const measures: Array<{ what: 'req/s' | 'p99'; variant: Variant }> = [
    { what: 'req/s', variant: 'keep-alive' },
    { what: 'req/s', variant: 'close' },
    { what: 'p99', variant: 'keep-alive' },
    { what: 'p99', variant: 'close' },
  ];
  for (const { what, variant } of measures) {
    for (const anchor of ANCHORS) {
      const value = TARGETS[variant][anchor];
      const f = what === 'req/s' ? (w: WrkResult) => r2(w.requestsPerSecond) : (w: WrkResult) => r2(w.p99Ms);
      const ours = results[variant]['ours'];
      const theirs = results[variant][anchor];
      const row: ScenarioResult = {
        label: `${variant === 'close' ? 'Connection: close' : 'keep-alive'} ${what === 'req/s' ? 'requests/s' : 'p99 latency'}`,
        ours: 'our tracker',
        anchor,
        unit: what === 'req/s' ? 'req/s' : 'ms',
        target: what === 'req/s' && value !== undefined ? { op: '>=', value } : undefined,
        rounds: ours.map((w, i) => ({ ours: f(w), anchor: theirs[i] ? f(theirs[i]!) : NaN, detail: { ours: w, anchor: theirs[i] } })) satisfies RoundResult[],
        skipped: skip['ours'] ?? skip[anchor],
      };
      rows.push(row);
    }
  }
  for (const variant of VARIANTS) {
    if (!floor[variant].length) continue;
    const target = FLOOR_TARGETS[variant];
    rows.push({
      label: `${variant === 'close' ? 'Connection: close' : 'keep-alive'} requests/s`,
      ours: 'our tracker',
      anchor: 'Node floor (fixed answer, no work)',
      unit: 'req/s',
      target: target === undefined ? undefined : { op: '>=', value: target },
      rounds: results[variant]['ours'].map((w, i) => ({ ours: r2(w.requestsPerSecond), anchor: floor[variant][i] ? r2(floor[variant][i]!.requestsPerSecond) : NaN, detail: { ours: w, anchor: floor[variant][i] } })),
    });
  }
  rows[0]!.notes = notes;
  rows[0]!.detail = detail;
  if (profiles.length) rows[0]!.profiles = profiles;
  return rows;
}

export const scenario: Scenario = {
  name: 'tracker-announce',
  description: `announces/s and p99 of our tracker vs opentracker and bittorrent-tracker under wrk (${TORRENTS} torrents x ${PEERS} peers, keep-alive and Connection: close)`,
  run,
};
export default scenario;
