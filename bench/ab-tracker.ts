/**
 * A/B of two builds of our tracker under the tracker-announce load (a development tool, not a
 * scenario of `npm run bench`): how a change to the announce path was measured.
 *
 *   npm run build && cp -r dist /tmp/dist-before     # the build to compare against
 *   ... change, npm run build ...
 *   npx tsx bench/ab-tracker.ts /tmp/dist-before dist [rounds=6] [seconds=5] [keep-alive|close] [--floor] [--opentracker]
 *
 * A build may carry its node options after a colon (`dist:--max-semi-space-size=1`; default:
 * the tracker's npm-script options). Both trackers run side by side, pre-populated with the
 * same 10,000 torrents x 20 peers; wrk (2 threads, 64 connections, bench/announce.lua) loads
 * them in turn, alternating which goes first. Prints req/s and the server's CPU microseconds
 * per request (utime + stime over the run, steadier than req/s on a noisy machine).
 * `--floor` adds the Node floor (bench/floor-server.mjs: `net` for keep-alive, `close` for close) and `--opentracker` opentracker to
 * the same rounds, under the same load, so ratios to them come from one run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runProgram, tempDir, type Proc } from '../harness/procs.ts';
import { nodeFlagsFor } from '../src/cli/node-flags.ts';
import { median } from './scenario.ts';
import { ROOT, cpuSeconds, sleep, stop } from './support.ts';
import { benchInfoHashes, populate, runWrk, startTracker, writeHashFile } from './tracker-load.ts';
import { startFloorServer } from './tracker-announce.ts';

const argv = process.argv.slice(2);
const withFloor = argv.includes('--floor');
const withOpentracker = argv.includes('--opentracker');
const [a, b, roundsArg = '6', secondsArg = '5', mode = 'keep-alive'] = argv.filter((x) => !x.startsWith('--'));
if (!a || !b || (mode !== 'keep-alive' && mode !== 'close')) {
  console.error('usage: npx tsx bench/ab-tracker.ts DIST_A[:node-options] DIST_B[:node-options] [rounds] [seconds] [keep-alive|close] [--floor] [--opentracker]');
  process.exit(2);
}

interface Server {
  name: string;
  port: number;
  pid: number;
  proc: Proc;
}

/** One of our builds, pre-populated. */
async function startBuild(spec: string, dir: string, hashes: Buffer[]): Promise<Server> {
  const [dist, options] = spec.split(':') as [string, string | undefined];
  const flags = options === undefined ? nodeFlagsFor(ROOT, 'tracker') : options.split(',').filter(Boolean);
  for (let attempt = 1; ; attempt++) {
    const port = 17_000 + Math.floor(Math.random() * 8000);
    const proc = runProgram(spec, [process.execPath, ...flags, path.resolve(dist, 'tracker.js'), '--port', String(port), '--interval', '1800'], { cwd: dir });
    try {
      await proc.waitFor(/\* Running on http:\/\//, 30_000);
    } catch (e) {
      await stop(proc);
      if (attempt < 5 && /EADDRINUSE/.test(proc.err())) continue;
      throw e;
    }
    await populate(port, hashes, 20);
    return { name: spec, port, pid: proc.child.pid!, proc };
  }
}

/** utime and stime of `pid` in clock ticks (their sum, in seconds, is cpuSeconds). */
function userSystemTicks(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]), Number(fields[12])];
}

const tmp = await tempDir('p2p-ab-tracker-');
const hashes = benchInfoHashes(10_000);
const hashFile = path.join(tmp.dir, 'hashes.txt');
await writeHashFile(hashFile, hashes);
const servers: Server[] = [];
try {
  for (const spec of [a, b]) servers.push(await startBuild(spec, tmp.dir, hashes));
  if (withFloor) {
    const f = await startFloorServer(tmp.dir, mode === 'close' ? 'close' : 'net');
    console.log(f.how);
    servers.push({ name: 'floor', port: f.port, pid: f.proc.child.pid!, proc: f.proc });
  }
  if (withOpentracker) {
    const t = await startTracker('opentracker', tmp.dir, hashFile);
    servers.push({ name: 'opentracker', port: t.port, pid: t.pid, proc: t.proc });
    await populate(t.port, hashes, 20, { keepAlive: false });
  }
  const rates = new Map<string, number[]>(servers.map((t) => [t.name, []]));
  const cpu = new Map<string, number[]>(servers.map((t) => [t.name, []]));
  for (let r = 0; r < Number(roundsArg); r++) {
    for (const t of r % 2 ? [...servers].reverse() : servers) {
      const c0 = cpuSeconds(t.pid);
      const [u0, s0] = userSystemTicks(t.pid);
      const w = await runWrk(t.port, hashFile, 20, { close: mode === 'close', seconds: Number(secondsArg), threads: 2, connections: 64 });
      const us = ((cpuSeconds(t.pid) - c0) / w.requests) * 1e6;
      const [u1, s1] = userSystemTicks(t.pid);
      const userShare = u1 - u0 + s1 - s0 ? (u1 - u0) / (u1 - u0 + s1 - s0) : 0;
      rates.get(t.name)!.push(w.requestsPerSecond);
      cpu.get(t.name)!.push(us);
      console.log(`${t.name.padEnd(30)} ${w.requestsPerSecond.toFixed(0).padStart(6)} req/s  ${us.toFixed(2)} us CPU/request (${(userShare * 100).toFixed(0)}% user)  p99 ${w.p99Ms.toFixed(2)} ms  errors ${w.errors + w.statusErrors}`);
      await sleep(300);
    }
  }
  const base = median(rates.get(b)!);
  for (const [name, xs] of rates) {
    console.log(`${name}: median ${median(xs).toFixed(0)} req/s, ${median(cpu.get(name)!).toFixed(2)} us CPU/request; ${b} / ${name} = ${(base / median(xs)).toFixed(3)}`);
  }
} finally {
  await Promise.all(servers.map((t) => stop(t.proc)));
  await tmp.remove();
}
