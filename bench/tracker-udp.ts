/**
 * tracker-udp: UDP (BEP 15) announces per second of our tracker against opentracker's UDP side and
 * bittorrent-tracker's UDP server, each in its own process, under the same load generator
 * (bench/udp-load.c, compiled with cc -O2: batches of sendmmsg/recvmmsg, 64 requests in flight
 * from 16 client sockets, each connecting once and then announcing with its id).
 *
 * Every tracker is pre-populated with the HTTP scenario's 10,000 torrents x 20 peers (the same
 * HTTP loader, bench/tracker-load.ts; all three serve HTTP and UDP on one port number) and must
 * answer a UDP sample announce listing the swarm before and after each timed run. The load is the
 * HTTP scenario's mix: a random torrent, a random one of its 20 peers re-announcing with a fresh
 * peer_id, numwant 50. Every answer's transaction id and action are checked by the generator.
 *
 * Each round also loads the generator's own echo responder (C, fixed answers, no work): what the
 * generator reaches on this machine, to show that it is not what limits a tracker's figure; and
 * the Node UDP floors (bench/udp-floor-server.mjs: fixed answers, no work, through node:dgram and
 * through the native batch addon): what no Node UDP tracker can beat here, as the HTTP
 * scenario's Node floor. When our tracker runs on the native addon (native/udp-batch built), the
 * same tracker on node:dgram (P2P_UDP_BATCH=0) is loaded in the same rounds: the addon's A/B.
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { tempDir } from '../harness/procs.ts';
import { median, type Scenario, type ScenarioOptions, type ScenarioResult, type ProfileRef } from './scenario.ts';
import { cpuSeconds, stop, sleep, r2 } from './support.ts';
import { missingProgram, npmAnchor, anchorVersion, programVersion } from './anchors.ts';
import { benchInfoHashes, writeHashFile, type RunningTracker, type TrackerKind } from './tracker-load.ts';
import { buildUdpLoad, runUdpLoad, checkUdpLoad, startUdpEcho, startUdpFloor, UDP_LOAD_DEFAULTS, type UdpLoadResult } from './udp-load.ts';
import { startOursUdp, startAnchorUdp, populateOver, verifyUdp, oursWithoutUdp, UDP_TORRENTS, UDP_PEERS } from './udp-trackers.ts';
import { loadUdpBatchAddon } from '../src/tracker/udp/batch-native.ts';

const SECONDS = 10;
const ANCHORS: Array<Exclude<TrackerKind, 'ours'>> = ['opentracker', 'bittorrent-tracker'];
const TARGETS: Record<Exclude<TrackerKind, 'ours'>, number> = { opentracker: 0.5, 'bittorrent-tracker': 5 };
/** Mean peers per answer below which a run is refused: 20-peer swarms, numwant 50. */
const MIN_PEERS_PER_ANSWER = 18;
const ECHO = 'udp-load echo (C, fixed answers, no work)';
const FLOOR = 'Node UDP floor (node:dgram, fixed answers, no work)';
const FLOOR_BATCH = 'Node UDP floor (native batch addon, fixed answers, no work)';
const OURS_DGRAM = 'our tracker on node:dgram (P2P_UDP_BATCH=0)';
/** Our tracker's UDP I/O in this checkout: the native addon when it is built (dist loads the same file). */
const OURS_IO = loadUdpBatchAddon() ? 'native batch addon' : 'node:dgram';

type Who = TrackerKind | 'echo' | 'floor' | 'floor-batch' | 'ours-dgram';
const WHO: Who[] = ['ours', 'ours-dgram', 'opentracker', 'bittorrent-tracker', 'floor', 'floor-batch', 'echo'];
const perWho = <T>(f: () => T) => Object.fromEntries(WHO.map((w) => [w, f()])) as Record<Who, T>;

async function startAll(kinds: TrackerKind[], dir: string, hashFile: string, hashes: Buffer[], log: (l: string) => void, skip: Partial<Record<TrackerKind, string>>) {
  const trackers = new Map<TrackerKind, RunningTracker>();
  const populateRates: Record<string, number> = {};
  for (const kind of kinds) {
    const t = kind === 'ours' ? await startOursUdp(dir) : await startAnchorUdp(kind, dir, hashFile);
    trackers.set(kind, t);
    const rate = await populateOver(t, hashes);
    populateRates[kind] = Math.round(rate);
    log(`${kind} on ${t.port}: pre-populated ${UDP_TORRENTS} x ${UDP_PEERS} peers at ${rate.toFixed(0)} announces/s (HTTP); UDP sample: ${await verifyUdp(t, hashes)}`);
  }
  for (const k of Object.keys(skip) as TrackerKind[]) if (skip[k]) log(`SKIPPED ${k}: ${skip[k]}`);
  return { trackers, populateRates };
}

/** Untimed: ours under `node --cpu-prof` with the same load, once, after the rounds. */
async function profileOurs(bin: string, dir: string, hashFile: string, hashes: Buffer[], profileDir: string, log: (l: string) => void): Promise<ProfileRef> {
  await mkdir(profileDir, { recursive: true });
  const name = 'tracker-udp.cpuprofile';
  const t = await startOursUdp(dir, [], { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}`] });
  try {
    await populateOver(t, hashes);
    await verifyUdp(t, hashes);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const w = await runUdpLoad(bin, t.port, hashFile, UDP_PEERS, { seconds: SECONDS });
    const toUs = Number(process.hrtime.bigint() / 1000n);
    log(`profiled run (node --cpu-prof): ${w.announcesPerSecond.toFixed(0)} UDP announces/s`);
    await stop(t.proc, 15_000); // the profile is written as the process exits
    return { title: `tracker: node --cpu-prof dist/tracker.js under udp-load (${SECONDS} s, ${w.announcesPerSecond.toFixed(0)} announces/s while profiled)`, file: path.join(profileDir, name), window: { fromUs, toUs } };
  } finally {
    await stop(t.proc);
  }
}

async function run(opts: ScenarioOptions): Promise<ScenarioResult[]> {
  const { log } = opts;
  const tmp = await tempDir('p2p-bench-udp-');
  const skip: Partial<Record<TrackerKind, string>> = {};
  const results = perWho<UdpLoadResult[]>(() => []);
  const cpuPerAnnounce = perWho<number[]>(() => []);
  const notes: string[] = [];
  const profiles: ProfileRef[] = [];
  let populateRates: Record<string, number> = {};
  const trackers = new Map<TrackerKind, RunningTracker>();
  let echo: Awaited<ReturnType<typeof startUdpEcho>> | undefined;
  let floor: Awaited<ReturnType<typeof startUdpFloor>> | undefined;
  let floorBatch: Awaited<ReturnType<typeof startUdpFloor>> | undefined;
  let oursDgram: RunningTracker | undefined;
  try {
    const built = await buildUdpLoad(tmp.dir);
    if (!built.bin) for (const k of ['ours', ...ANCHORS] as TrackerKind[]) skip[k] = built.skipped;
    skip['ours'] ??= oursWithoutUdp();
    skip['opentracker'] ??= missingProgram('opentracker', 'opentracker');
    skip['bittorrent-tracker'] ??= await npmAnchor('bittorrent-tracker', log);
    const kinds = ([...ANCHORS, 'ours'] as TrackerKind[]).filter((k) => !skip[k]);
    const hashes = benchInfoHashes(UDP_TORRENTS);
    const hashFile = path.join(tmp.dir, 'whitelist.txt');
    await writeHashFile(hashFile, hashes);
    const started = await startAll(kinds, tmp.dir, hashFile, hashes, log, skip);
    for (const [k, t] of started.trackers) trackers.set(k, t);
    populateRates = started.populateRates;
    if (built.bin) echo = await startUdpEcho(built.bin, tmp.dir);
    if (built.bin && !skip['ours']) floor = await startUdpFloor(tmp.dir);
    if (built.bin && !skip['ours'] && OURS_IO !== 'node:dgram') {
      floorBatch = await startUdpFloor(tmp.dir, 'batch');
      oursDgram = await startOursUdp(tmp.dir, [], { env: { P2P_UDP_BATCH: '0' } });
      log(`ours on node:dgram on ${oursDgram.port}: pre-populated at ${(await populateOver(oursDgram, hashes)).toFixed(0)} announces/s (HTTP); UDP sample: ${await verifyUdp(oursDgram, hashes)}`);
    }

    for (let r = 1; r <= (built.bin ? opts.rounds : 0); r++) {
      const targets: Array<[Who, number, number]> = [['echo', echo!.port, echo!.proc.child.pid!]];
      if (floor) targets.push(['floor', floor.port, floor.proc.child.pid!]);
      if (floorBatch) targets.push(['floor-batch', floorBatch.port, floorBatch.proc.child.pid!]);
      if (oursDgram) targets.push(['ours-dgram', oursDgram.port, oursDgram.pid]);
      targets.push(...kinds.map((k): [Who, number, number] => [k, trackers.get(k)!.port, trackers.get(k)!.pid]));
      for (const [who, port, pid] of targets) {
        const cpu0 = cpuSeconds(pid);
        const w = await runUdpLoad(built.bin!, port, hashFile, UDP_PEERS, { seconds: SECONDS });
        // The server's CPU per answered announce: steadier than announces/s on a busy machine.
        cpuPerAnnounce[who].push(((cpuSeconds(pid) - cpu0) * 1e6) / Math.max(1, w.announces + w.connects));
        const tracker = who === 'ours-dgram' ? oursDgram : who === 'echo' || who === 'floor' || who === 'floor-batch' ? undefined : trackers.get(who)!;
        checkUdpLoad(who, w, tracker ? MIN_PEERS_PER_ANSWER : 0);
        if (tracker) await verifyUdp(tracker, hashes);
        results[who].push(w);
        log(`round ${r}/${opts.rounds} ${who.padEnd(18)} ${w.announcesPerSecond.toFixed(0).padStart(7)} announces/s  p50 ${w.p50Ms.toFixed(2)} ms  p99 ${w.p99Ms.toFixed(2)} ms  server ${cpuPerAnnounce[who].at(-1)!.toFixed(1)} us CPU/announce, generator ${w.generatorCores.toFixed(2)} cores  (${w.bytesPerAnswer.toFixed(0)} B/answer, ${w.lost} lost, load ${os.loadavg()[0]!.toFixed(2)})`);
        await sleep(500);
      }
    }
    await stop(echo?.proc);
    await stop(floor?.proc);
    await stop(floorBatch?.proc);
    await stop(oursDgram?.proc);
    if (opts.profileDir && built.bin && trackers.has('ours')) {
      profiles.push(await profileOurs(built.bin, tmp.dir, hashFile, hashes, opts.profileDir, log));
    }
  } finally {
    await stop(echo?.proc);
    await stop(floor?.proc);
    await stop(floorBatch?.proc);
    await stop(oursDgram?.proc);
    await Promise.all([...trackers.values()].map((t) => stop(t.proc)));
    await tmp.remove();
  }
  return rowsOf(results, cpuPerAnnounce, skip, notes, profiles, populateRates);
}

function rowsOf(results: Record<Who, UdpLoadResult[]>, cpuPerAnnounce: Record<Who, number[]>, skip: Partial<Record<TrackerKind, string>>, notes: string[], profiles: ProfileRef[], populateRates: Record<string, number>): ScenarioResult[] {
  const med = (who: Who, f: (w: UdpLoadResult) => number) => median(results[who].map(f));
  const rate = (w: UdpLoadResult) => r2(w.announcesPerSecond);
  const p99 = (w: UdpLoadResult) => r2(w.p99Ms);
  const parts = WHO
    .filter((k) => results[k].length)
    .map((k) => `${k} ${med(k, (w) => w.announcesPerSecond).toFixed(0)}/s, p50 ${med(k, (w) => w.p50Ms).toFixed(2)} ms, p99 ${med(k, (w) => w.p99Ms).toFixed(2)} ms, ${med(k, (w) => w.bytesPerAnswer).toFixed(0)} B/answer, server ${median(cpuPerAnnounce[k]).toFixed(1)} us CPU/announce, generator ${med(k, (w) => w.generatorCores).toFixed(2)} cores`);
  notes.push(`UDP medians (ours on the ${OURS_IO}): ${parts.join('; ')}`);
  const d = UDP_LOAD_DEFAULTS;
  notes.push(`load: bench/udp-load.c (cc -O2), ${SECONDS} s, ${d.window} requests in flight from ${d.sockets} sockets, batches of ${d.batch}; ${UDP_TORRENTS} torrents x ${UDP_PEERS} peers pre-populated over HTTP (announces/s of the loader: ${Object.entries(populateRates).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  if (results.echo.length && results.opentracker.length) {
    notes.push(`generator ceiling: against its echo responder (no work) it reaches ${med('echo', (w) => w.announcesPerSecond).toFixed(0)} announces/s, ${(med('echo', (w) => w.announcesPerSecond) / med('opentracker', (w) => w.announcesPerSecond)).toFixed(2)}x opentracker's figure`);
  }
  const rows: ScenarioResult[] = [];
  for (const [label, f, withTarget] of [['UDP announces/s', rate, true], ['UDP p99 latency', p99, false]] as const) {
    for (const anchor of ANCHORS) {
      rows.push({
        label,
        ours: 'our tracker',
        anchor: `${anchor} (UDP)`,
        unit: withTarget ? 'announces/s' : 'ms',
        target: withTarget ? { op: '>=', value: TARGETS[anchor] } : undefined,
        rounds: results.ours.map((w, i) => ({ ours: f(w), anchor: results[anchor][i] ? f(results[anchor][i]!) : NaN, detail: { ours: w, anchor: results[anchor][i] } })),
        skipped: skip['ours'] ?? skip[anchor],
      });
    }
  }
  for (const anchor of ANCHORS) {
    rows.push({
      label: 'UDP server CPU per announce',
      ours: 'our tracker',
      anchor: `${anchor} (UDP)`,
      unit: 'us',
      rounds: cpuPerAnnounce.ours.map((c, i) => ({ ours: r2(c), anchor: r2(cpuPerAnnounce[anchor][i] ?? NaN) })),
      skipped: skip['ours'] ?? skip[anchor],
    });
  }
  if (results['ours-dgram'].length) {
    rows.push({
      label: 'UDP server CPU per announce',
      ours: 'our tracker',
      anchor: OURS_DGRAM,
      unit: 'us',
      rounds: cpuPerAnnounce.ours.map((c, i) => ({ ours: r2(c), anchor: r2(cpuPerAnnounce['ours-dgram'][i] ?? NaN) })),
    });
  }
  for (const [who, anchor] of [['ours-dgram', OURS_DGRAM], ['floor', FLOOR], ['floor-batch', FLOOR_BATCH], ['echo', ECHO]] as const) {
    if (!results[who].length && (who === 'ours-dgram' || who === 'floor-batch')) continue; // no addon built
    rows.push({
      label: 'UDP announces/s',
      ours: 'our tracker',
      anchor,
      unit: 'announces/s',
      rounds: results.ours.map((w, i) => ({ ours: rate(w), anchor: results[who][i] ? rate(results[who][i]!) : NaN })),
      skipped: skip['ours'],
    });
  }
  rows[0]!.notes = notes;
  rows[0]!.detail = {
    torrents: UDP_TORRENTS,
    peersPerTorrent: UDP_PEERS,
    generator: { ...d, seconds: SECONDS },
    versions: {
      opentracker: skip['opentracker'] ? undefined : programVersion(['dpkg-query', '-W', '-f', '${Version}', 'opentracker']),
      'bittorrent-tracker': skip['bittorrent-tracker'] ? undefined : anchorVersion('bittorrent-tracker'),
      cc: programVersion(['cc', '--version']),
    },
    populateRates,
  };
  if (profiles.length) rows[0]!.profiles = profiles;
  return rows;
}

export const scenario: Scenario = {
  name: 'tracker-udp',
  description: `UDP (BEP 15) announces/s of our tracker vs opentracker and bittorrent-tracker under bench/udp-load.c (${UDP_TORRENTS} torrents x ${UDP_PEERS} peers)`,
  run,
};
export default scenario;
