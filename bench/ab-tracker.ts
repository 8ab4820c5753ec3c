/**
 * A/B of two builds of our tracker under the tracker-announce load (a development tool, not a
 * scenario of `npm run bench`): how a change to the announce path was measured.
 *
 *   npm run build && cp -r dist /tmp/dist-before     # the build to compare against
 *   ... change, npm run build ...
 *   npx tsx bench/ab-tracker.ts /tmp/dist-before dist [rounds=6] [seconds=5] [keep-alive|close]
 *
 * A build may carry its node options after a colon (`dist:--max-semi-space-size=1`; default:
 * the tracker's npm-script options). Both trackers run side by side, pre-populated with the
 * same 10,000 torrents x 20 peers; wrk (2 threads, 64 connections, bench/announce.lua) loads
 * them in turn, alternating which goes first. Prints req/s and the tracker's CPU microseconds
 * per request (utime + stime over the run, steadier than req/s on a noisy machine).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { tempDir } from '../harness/procs.ts';
import { nodeFlagsFor } from '../src/cli/node-flags.ts';
import { median } from './scenario.ts';
import { ROOT, cpuSeconds, sleep } from './support.ts';
import { benchInfoHashes, populate, runWrk, writeHashFile } from './tracker-load.ts';

const [a, b, roundsArg = '6', secondsArg = '5', mode = 'keep-alive'] = process.argv.slice(2);
if (!a || !b || (mode !== 'keep-alive' && mode !== 'close')) {
  console.error('usage: npx tsx bench/ab-tracker.ts DIST_A[:node-options] DIST_B[:node-options] [rounds] [seconds] [keep-alive|close]');
  process.exit(2);
}

const tmp = await tempDir('p2p-ab-tracker-');
const hashes = benchInfoHashes(10_000);
const hashFile = path.join(tmp.dir, 'hashes.txt');
await writeHashFile(hashFile, hashes);
const trackers: Array<{ name: string; port: number; pid: number; stop: () => void }> = [];
try {
  let port = 17_000 + Math.floor(Math.random() * 1000) * 2;
  for (const spec of [a, b]) {
    const [dist, options] = spec.split(':') as [string, string | undefined];
    const flags = options === undefined ? nodeFlagsFor(ROOT, 'tracker') : options.split(',').filter(Boolean);
    const p = port++;
    const child = spawn(process.execPath, [...flags, path.resolve(dist, 'tracker.js'), '--port', String(p), '--interval', '1800'], { stdio: ['ignore', 'pipe', 'inherit'], cwd: tmp.dir });
    trackers.push({ name: spec, port: p, pid: child.pid!, stop: () => child.kill('SIGTERM') });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`${spec}: tracker exited (${code})`)));
      child.stdout!.on('data', (c: Buffer) => /Running on/.test(c.toString()) && resolve());
    });
    await populate(p, hashes, 20);
  }
  const rates = new Map<string, number[]>(trackers.map((t) => [t.name, []]));
  for (let r = 0; r < Number(roundsArg); r++) {
    for (const t of r % 2 ? [...trackers].reverse() : trackers) {
      const c0 = cpuSeconds(t.pid);
      const w = await runWrk(t.port, hashFile, 20, { close: mode === 'close', seconds: Number(secondsArg), threads: 2, connections: 64 });
      const us = ((cpuSeconds(t.pid) - c0) / w.requests) * 1e6;
      rates.get(t.name)!.push(w.requestsPerSecond);
      console.log(`${t.name.padEnd(30)} ${w.requestsPerSecond.toFixed(0).padStart(6)} req/s  ${us.toFixed(2)} us CPU/request  p99 ${w.p99Ms.toFixed(2)} ms  errors ${w.errors + w.statusErrors}`);
      await sleep(300);
    }
  }
  for (const [name, xs] of rates) console.log(`${name}: median ${median(xs).toFixed(0)} req/s`);
} finally {
  for (const t of trackers) t.stop();
  await tmp.remove();
}
