/**
 * Load and soak scenarios (not part of `npm test`): `npm run soak [-- options]`.
 *
 *   tracker-soak  our tracker (interval 10 s) under a load generator in another process (wrk with
 *                 test/load/announce.lua if installed, else test/load/loadgen.ts) announcing for
 *                 10,000 torrents x 20 peers for --seconds at the highest rate the machine
 *                 sustains: requests/s, p99 latency, errors (must be 0). Then the peers must
 *                 expire (20 s after the load stops): swarms/peers 0, every sampled /peers empty,
 *                 heapUsed back near its start.
 *   swarm-soak    1 seeder + 10 requesters (--seed) on a 256 MiB file, tracker --interval 2;
 *                 requesters SIGKILLed at random and restarted (each resumes from its
 *                 .part.state) during the first --seconds; every requester must end with the
 *                 exact file (SHA-1).
 *
 * Options: --only tracker-soak|swarm-soak, --seconds N (default 60), --generator wrk|node,
 * --tracker child|program (child: dist's modules in a process with --expose-gc and IPC, which can
 * report store counts and heapUsed; program: dist/tracker.js itself, judged from outside by
 * /peers and RSS), --connections N, --threads N (wrk threads, default 1: the tracker needs the
 * other core of a 2-core machine), --torrents N, --peers N, --requesters N, --size-mib N,
 * --keep (keep the swarm's temporary folder). Exit status 0 only if every check passed.
 * Everything runs on 127.0.0.1, bounded in time, and stops by itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, freePort, startTracker, type Proc } from '../support/procs.ts';
import { Scope, getJson, sha1File, sleep, startSeeder } from '../support/bad-peers.ts';
import { nodeFlagsFor } from '../../src/cli/node-flags.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    seconds: { type: 'string', default: '60' },
    generator: { type: 'string' },
    tracker: { type: 'string', default: 'child' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
    torrents: { type: 'string', default: '10000' },
    peers: { type: 'string', default: '20' },
    requesters: { type: 'string', default: '10' },
    'size-mib': { type: 'string', default: '256' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run soak -- [--only tracker-soak|swarm-soak] [--seconds 60] [--generator wrk|node] [--tracker child|program]\n' +
    '                       [--connections 64] [--threads 1] [--torrents 10000] [--peers 20] [--requesters 10] [--size-mib 256] [--keep]');
  process.exit(0);
}
const num = (v: string | undefined, name: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number`);
    process.exit(2);
  }
  return n;
};
const SECONDS = num(values.seconds, 'seconds');
const MiB = 1024 * 1024;
const log = (s: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}`);

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });

// ===================================================================================== tracker

interface TrackerStats {
  swarms?: number;
  peers?: number;
  heapUsed?: number;
  rss: number;
}

interface LoadResult {
  requests: number;
  duration_us: number;
  bytes: number;
  connect_errors: number;
  read_errors: number;
  write_errors: number;
  status_errors: number;
  timeouts: number;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  other: number;
  failures: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
}

/** The tracker under test, with a way to read its counters. */
interface TrackerUnderTest {
  port: number;
  pid: number;
  stats(gc: boolean): Promise<TrackerStats>;
  stop(): Promise<void>;
}

function vmRss(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1] ?? 0) * 1024);
}

async function startChildTracker(interval: number): Promise<TrackerUnderTest> {
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', ...nodeFlagsFor(ROOT, 'tracker'), '--import', 'tsx', path.join(ROOT, 'test/load/tracker-child.ts'), '--port', '0', '--interval', String(interval)], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { type: string; port: number }) => (m.type === 'ready' ? resolve(m.port) : reject(new Error('unexpected message'))));
    child.once('exit', (code) => reject(new Error(`tracker child exited (${code}) before it was ready`)));
  });
  return {
    port,
    pid: child.pid!,
    stats: (gc) =>
      new Promise((resolve, reject) => {
        const onMessage = (m: { type: string } & TrackerStats) => {
          if (m.type !== 'stats') return;
          child.off('message', onMessage);
          clearTimeout(timer);
          resolve(m);
        };
        const timer = setTimeout(() => reject(new Error('tracker child did not answer stats in 30 s')), 30_000);
        child.on('message', onMessage);
        child.send({ type: 'stats', gc });
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

async function startProgramTracker(interval: number, cwd: string): Promise<TrackerUnderTest> {
  const { proc, port } = await startTracker(cwd, ['--interval', String(interval)]);
  const pid = proc.child.pid!;
  return {
    port,
    pid,
    stats: async () => ({ rss: await vmRss(pid) }),
    stop: async () => {
      proc.kill('SIGTERM');
      await proc.exited;
    },
  };
}

function hasWrk(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** Run the load generator in its own process; resolves with its JSON summary line. */
function runLoad(generator: 'wrk' | 'node', port: number, hashFile: string, seconds: number, connections: number, peers: number): Promise<LoadResult> {
  const argv =
    generator === 'wrk'
      ? ['wrk', `-t${Math.min(num(values.threads, 'threads'), connections)}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', path.join(ROOT, 'test/load/announce.lua'), `http://127.0.0.1:${port}`, '--', hashFile, String(peers), '30000']
      : [process.execPath, '--import', 'tsx', path.join(ROOT, 'test/load/loadgen.ts'), '--port', String(port), '--seconds', String(seconds), '--connections', String(connections), '--hashes', hashFile, '--peers', String(peers), '--port-base', '30000'];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = /(?:WRK|LOADGEN)_JSON (\{.*\})/.exec(out);
      if (!line) return reject(new Error(`load generator exited ${code} without a summary:\n${out}`));
      resolve(JSON.parse(line[1]!) as LoadResult);
    });
  });
}

async function peersListed(port: number, hex: string): Promise<number> {
  const r = await getJson<{ peers: unknown[] }>(`http://127.0.0.1:${port}/peers?info_hash=${hex}`);
  return r.peers.length;
}

async function trackerSoak(): Promise<Check[]> {
  const interval = 10;
  const torrents = num(values.torrents, 'torrents');
  const peers = num(values.peers, 'peers');
  const connections = num(values.connections, 'connections');
  const generator = (values.generator as 'wrk' | 'node' | undefined) ?? (hasWrk() ? 'wrk' : 'node');
  if (generator === 'wrk' && !hasWrk()) throw new Error('wrk is not installed: apt-get install -y wrk (or --generator node)');
  const mode = values.tracker === 'program' ? 'program' : 'child';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'p2p-tracker-soak-'));
  const checks: Check[] = [];
  const tracker = mode === 'child' ? await startChildTracker(interval) : await startProgramTracker(interval, dir);
  try {
    const hashes = Array.from({ length: torrents }, (_, i) => createHash('sha1').update(`soak-${i}`).digest('hex'));
    const hashFile = path.join(dir, 'hashes.txt');
    await writeFile(hashFile, hashes.join('\n') + '\n');
    log(`tracker-soak: ${mode === 'child' ? 'dist tracker modules in a child with --expose-gc' : 'dist/tracker.js'} on 127.0.0.1:${tracker.port}, --interval ${interval}; ` +
      `${generator} with ${connections} connections for ${SECONDS} s over ${torrents} torrents x ${peers} peers`);

    const base = await tracker.stats(true);
    let peakRss = base.rss;
    let peakHeap = base.heapUsed ?? 0;
    const sampler = setInterval(() => {
      void tracker.stats(false).then((s) => {
        peakRss = Math.max(peakRss, s.rss);
        peakHeap = Math.max(peakHeap, s.heapUsed ?? 0);
      }, () => {});
    }, 1000);
    const load = await runLoad(generator, tracker.port, hashFile, SECONDS, connections, peers).finally(() => clearInterval(sampler));
    const loadEnded = Date.now();
    const during = await tracker.stats(true);
    const sample = Array.from({ length: 50 }, (_, i) => hashes[Math.floor((i * torrents) / 50)]!);
    const listedDuring = await Promise.all(sample.map((h) => peersListed(tracker.port, h)));

    const rps = load.requests / (load.duration_us / 1e6);
    const errors = load.connect_errors + load.read_errors + load.write_errors + load.timeouts + load.status_errors + load.s5xx;
    log(`load: ${load.requests} announces in ${(load.duration_us / 1e6).toFixed(1)} s = ${rps.toFixed(0)} req/s; latency p50 ${(load.p50_us / 1000).toFixed(2)} ms, p90 ${(load.p90_us / 1000).toFixed(2)} ms, p99 ${(load.p99_us / 1000).toFixed(2)} ms, max ${(load.max_us / 1000).toFixed(1)} ms`);
    log(`answers: ${load.s2xx} 2xx (${load.failures} failure reasons), ${load.s4xx} 4xx, ${load.s5xx} 5xx; socket errors connect ${load.connect_errors} read ${load.read_errors} write ${load.write_errors} timeouts ${load.timeouts}`);
    log(`after the load: ${during.swarms ?? '?'} swarms, ${during.peers ?? '?'} peers; sampled /peers lists ${listedDuring.reduce((a, b) => a + b, 0)} peers over ${sample.length} torrents`);
    checks.push(check('tracker: no server or socket errors', errors === 0 && load.failures === 0, `${errors} errors, ${load.failures} failure reasons`));
    checks.push(check('tracker: load reached the swarms', listedDuring.every((n) => n > 0 && n <= peers), `listed per sampled torrent: min ${Math.min(...listedDuring)}, max ${Math.max(...listedDuring)}`));

    // Expiry: a peer silent for 2 x interval is dropped by the sweep (every interval / 2).
    const deadline = loadEnded + (3 * interval + 15) * 1000;
    let after = await tracker.stats(true);
    for (;;) {
      const listed = await Promise.all(sample.map((h) => peersListed(tracker.port, h)));
      after = await tracker.stats(false);
      const empty = listed.every((n) => n === 0) && (after.peers === undefined || (after.peers === 0 && after.swarms === 0));
      if (empty || Date.now() > deadline) break;
      await sleep(1000);
    }
    const expiredInMs = Date.now() - loadEnded;
    const final = await tracker.stats(true);
    const listedAfter = await Promise.all(hashes.filter((_, i) => i % 97 === 0).map((h) => peersListed(tracker.port, h)));
    log(`expiry: ${expiredInMs} ms after the load stopped: ${final.swarms ?? '?'} swarms, ${final.peers ?? '?'} peers; ${listedAfter.length} sampled /peers lists hold ${listedAfter.reduce((a, b) => a + b, 0)} peers`);
    const fmt = (b: number | undefined) => (b === undefined ? '?' : `${(b / MiB).toFixed(1)} MiB`);
    log(`memory: heapUsed ${fmt(base.heapUsed)} at start (after gc), peak ${fmt(peakHeap || undefined)}, ${fmt(during.heapUsed)} after the load (after gc), ${fmt(final.heapUsed)} after expiry (after gc); RSS ${fmt(base.rss)} -> peak ${fmt(peakRss)} -> ${fmt(final.rss)}`);
    checks.push(check('tracker: every sampled /peers empty after expiry', listedAfter.every((n) => n === 0), `${listedAfter.filter((n) => n > 0).length} non-empty of ${listedAfter.length}`));
    if (final.swarms !== undefined) checks.push(check('tracker: swarms and peers 0 after expiry', final.swarms === 0 && final.peers === 0, `${final.swarms} swarms, ${final.peers} peers`));
    if (final.heapUsed !== undefined && base.heapUsed !== undefined) {
      const grew = final.heapUsed - base.heapUsed;
      checks.push(check('tracker: heapUsed back near its start', grew < Math.max(8 * MiB, base.heapUsed * 0.5), `${fmt(base.heapUsed)} -> ${fmt(final.heapUsed)} (${grew >= 0 ? '+' : ''}${(grew / MiB).toFixed(1)} MiB; ${fmt(during.heapUsed)} while full)`));
    }
    console.log(`SOAK_JSON ${JSON.stringify({ scenario: 'tracker-soak', mode, generator, seconds: SECONDS, torrents, peers, connections, rps: Math.round(rps), ...load, during, base, final, peakRss, peakHeap, expiredInMs })}`);
    return checks;
  } finally {
    await tracker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// ======================================================================================= swarm

interface Requester {
  i: number;
  port: number;
  proc: Proc;
  startedAt: number;
  incarnations: number;
  kills: number;
  /** `Resuming: N of M` lines of restarted incarnations. */
  resumed: number[];
  doneAt: number | undefined;
  outputs: string[];
}

const DONE = /^File (downloaded|already complete): soak\.bin/m;

async function writeRandomFile(file: string, bytes: number): Promise<string> {
  const h = createHash('sha1');
  const out = createWriteStream(file);
  for (let left = bytes; left > 0; ) {
    const chunk = randomBytes(Math.min(4 * MiB, left));
    h.update(chunk);
    left -= chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return h.digest('hex');
}

async function swarmSoak(): Promise<Check[]> {
  const count = num(values.requesters, 'requesters');
  const size = num(values['size-mib'], 'size-mib') * MiB;
  const scope = new Scope();
  const checks: Check[] = [];
  const t0 = Date.now();
  try {
    const dir = await scope.dir('p2p-swarm-soak-');
    if (values.keep) log(`keeping ${dir}`);
    const want = await writeRandomFile(path.join(dir, 'soak.bin'), size);
    log(`swarm-soak: ${size / MiB} MiB file written (sha1 ${want}) in ${dir}`);
    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'soak.bin', tracker.announce, ['--requester-dir', 'torrents'], 300_000);
    log(`tracker on ${tracker.port} (--interval 2), seeder on ${seeder.port}, info_hash ${seeder.infoHash} (${((Date.now() - t0) / 1000).toFixed(1)} s to write, hash and share)`);

    const args = (r: Pick<Requester, 'i' | 'port'>) => [seeder.torrent, '--port', String(r.port), '--out', `r${r.i}`, '--seed', '--wait', '120'];
    const spawnOne = (r: Pick<Requester, 'i' | 'port'>) => scope.spawn('requester', args(r), dir);
    const reqs: Requester[] = [];
    const start = Date.now();
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      reqs.push({ i, port, proc: spawnOne({ i, port }), startedAt: Date.now(), incarnations: 1, kills: 0, resumed: [], doneAt: undefined, outputs: [] });
    }
    log(`${count} requesters started; SIGKILLs at random for ${SECONDS} s`);

    const isDone = (r: Requester) => {
      if (r.doneAt === undefined && DONE.test(r.proc.out())) r.doneAt = Date.now();
      return r.doneAt !== undefined;
    };
    let kills = 0;
    const chaosEnd = start + SECONDS * 1000;
    const overall = start + Math.max(900, SECONDS * 5) * 1000;
    let lastReport = Date.now();
    while (!reqs.every(isDone)) {
      if (Date.now() > overall) throw new Error(`requesters not done after ${((Date.now() - start) / 1000).toFixed(0)} s`);
      for (const r of reqs) {
        if (!isDone(r) && r.proc.child.exitCode !== null) {
          throw new Error(`requester ${r.i} exited ${r.proc.child.exitCode} before finishing\nstdout:\n${r.proc.out().slice(-3000)}\nstderr:\n${r.proc.err().slice(-3000)}`);
        }
      }
      if (Date.now() < chaosEnd) {
        await sleep(500 + Math.random() * 2500);
        const victims = reqs.filter((r) => !isDone(r) && Date.now() - r.startedAt > 1000 && r.proc.child.exitCode === null);
        const v = victims[Math.floor(Math.random() * victims.length)];
        if (v && Date.now() < chaosEnd) {
          v.proc.kill('SIGKILL');
          await v.proc.exited;
          v.kills++;
          kills++;
          // (One that finished just before the kill finds its file at restart and verifies it.)
          v.outputs.push(v.proc.out());
          await sleep(200 + Math.random() * 1300);
          v.proc = spawnOne(v);
          v.startedAt = Date.now();
          v.incarnations++;
          v.doneAt = undefined;
        }
      } else {
        await sleep(500);
      }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        const stats = await Promise.all(reqs.map((r) => getJson<{ torrents: Array<{ have: number; pieces: number }> }>(`http://127.0.0.1:${r.port}/stats`, 2000).then((s) => s.torrents[0], () => undefined)));
        log(`${((Date.now() - start) / 1000).toFixed(0)} s: ${kills} kills; pieces ${stats.map((s) => (s ? `${s.have}/${s.pieces}` : '-')).join(' ')}`);
      }
    }
    const elapsed = Date.now() - start;
    for (const r of reqs) {
      for (const out of [...r.outputs, r.proc.out()]) {
        const m = /^Resuming: (\d+) of \d+ pieces already verified/m.exec(out);
        if (m) r.resumed.push(Number(m[1]));
      }
    }
    log(`all ${count} requesters done in ${(elapsed / 1000).toFixed(1)} s with ${kills} SIGKILLs; per requester: ${reqs.map((r) => `r${r.i} ${((r.doneAt! - start) / 1000).toFixed(0)} s/${r.kills} kills`).join(', ')}`);
    const resumes = reqs.flatMap((r) => r.resumed);
    log(`restarts that resumed from .part.state: ${resumes.length} (pieces already verified: ${resumes.join(', ') || '-'})`);

    let exact = 0;
    for (const r of reqs) {
      const got = await sha1File(path.join(dir, `r${r.i}`, 'soak.bin'));
      const left = await readdir(path.join(dir, `r${r.i}`));
      const ok = got === want && left.length === 1;
      if (ok) exact++;
      else log(`requester ${r.i}: sha1 ${got}, files ${left.join(', ')}`);
    }
    checks.push(check('swarm: every requester ends with the exact file (sha1) and nothing else', exact === count, `${exact}/${count} exact`));
    checks.push(check('swarm: requesters were killed and resumed', kills > 0 && resumes.length > 0, `${kills} kills, ${resumes.length} resumes`));
    for (const r of reqs) r.proc.kill('SIGTERM');
    await Promise.all(reqs.map((r) => Promise.race([r.proc.exited, sleep(10_000)])));
    console.log(`SOAK_JSON ${JSON.stringify({ scenario: 'swarm-soak', seconds: SECONDS, requesters: count, sizeMiB: size / MiB, elapsedMs: elapsed, kills, resumes, exact })}`);
    return checks;
  } finally {
    await (values.keep ? keepDispose(scope) : scope.dispose());
  }
}

/** Kill the processes but leave the folder (for --keep). */
async function keepDispose(scope: Scope): Promise<void> {
  (scope as unknown as { cleanups: unknown[] }).cleanups.length = 0;
  await scope.dispose();
}

// ======================================================================================== main

const scenarios: Record<string, () => Promise<Check[]>> = { 'tracker-soak': trackerSoak, 'swarm-soak': swarmSoak };
const chosen = values.only ? values.only.split(',') : Object.keys(scenarios);
for (const c of chosen) {
  if (!scenarios[c]) {
    console.error(`unknown scenario ${c}; choose from ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
}
let failed = 0;
for (const name of chosen) {
  const t0 = Date.now();
  let checks: Check[];
  try {
    checks = await scenarios[name]!();
  } catch (e) {
    checks = [check(`${name}: ran to the end`, false, (e as Error).stack ?? String(e))];
  }
  console.log(`\n== ${name} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  for (const c of checks) {
    console.log(`${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
    if (!c.ok) failed++;
  }
}
console.log(failed ? `\n${failed} check(s) failed` : '\nall checks passed');
process.exit(failed ? 1 : 0);
