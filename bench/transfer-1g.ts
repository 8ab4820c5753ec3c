/**
 * transfer-1g: one seeder to one downloader, a 1 GiB random file over loopback, written to disk.
 *   ours:    our requester (`--no-seed`), from our seeder's HTTP piece API; spawn to exit (it
 *            fsyncs the file before renaming it to its final name)
 *   anchors: curl fetching the same bytes from the same seeder's `/file/<info_hash>` endpoint to
 *            disk, then `sync -f <file>`; aria2c downloading the same torrent from the same seeder
 *            over the BitTorrent wire protocol, then `sync -f <file>` (written to disk like ours)
 * One tracker and one seeder (`--no-web-seed`, default piece length = 1 MiB) serve all the rounds;
 * each round runs curl, aria2c and ours, each into an empty folder after a `sync`, and checks the
 * tracker lists only the seeder before it starts. The order rotates by one each round (curl,
 * aria2c, ours; then aria2c, ours, curl; ...), so no one always runs in the same place: measured
 * here, where a run falls changes its kernel time (a requester run right after an anchor's spent
 * 2-3 s of system time per GiB in page-cache writes, against 0.5-1.4 s after another requester
 * run; see BENCHMARKS.md). Every result is compared with the source (cmp)
 * after the timing.
 *
 * CPU: the downloader's user+system seconds at its exit (bash `times` around it), and the
 * seeder's /proc/<pid>/stat utime+stime before and after each download; both per GiB.
 * After the rounds (untimed), our requester runs once more under `node --cpu-prof`.
 */
import path from 'node:path';
import { mkdir, rm, stat, unlink } from 'node:fs/promises';
import { tempDir, freePort, type Proc } from '../harness/procs.ts';
import { median, type Scenario, type ScenarioOptions, type ScenarioResult, type ProfileRef } from './scenario.ts';
import { GiB, ROOT, cpuSeconds, expectPeers, r3, run as runToEnd, runTimed, sameBytes, startTrackerAndSeeder, stop, syncAll, writeRandomFile, readThrough } from './support.ts';
import { missingProgram, programVersion } from './anchors.ts';
import { nodeFlagsFor } from '../src/cli/node-flags.ts';

const SIZE = GiB;
const NAME = 'transfer-1GiB.bin';
type Kind = 'ours' | 'curl' | 'aria2c';

interface Transfer {
  seconds: number;
  /** GB/s, 10^9 bytes per second. */
  rate: number;
  /** CPU seconds (user + system) per GiB transferred. */
  downloaderCpu: number;
  seederCpu: number;
}

async function run(opts: ScenarioOptions): Promise<ScenarioResult[]> {
  const { log } = opts;
  const skip: Partial<Record<Kind, string>> = { curl: missingProgram('curl', 'curl'), aria2c: missingProgram('aria2c', 'aria2') };
  for (const [k, why] of Object.entries(skip)) if (why) log(`SKIPPED ${k}: ${why}`);
  const kinds = (['curl', 'aria2c', 'ours'] as Kind[]).filter((k) => !skip[k]);
  const all = new Set<Proc>();
  const results: Record<Kind, Transfer[]> = { ours: [], curl: [], aria2c: [] };
  const profiles: ProfileRef[] = [];
  const tmp = await tempDir('p2p-bench-transfer-');
  try {
    const seedDir = path.join(tmp.dir, 'seeder');
    await mkdir(seedDir, { recursive: true });
    const source = path.join(seedDir, NAME);
    log(`generating ${SIZE / GiB} GiB of random data in ${tmp.dir}`);
    await writeRandomFile(source, SIZE);
    const { tracker, seeder, seederPort, infoHash, torrent } = await startTrackerAndSeeder(tmp.dir, source, { interval: 60, all });
    const seederPid = seeder.child.pid!;
    await readThrough(source);
    log(`tracker on ${tracker.port}, seeder on ${seederPort} (pid ${seederPid}), info_hash ${infoHash}`);

    const once = async (kind: Kind, run: string, nodeArgs: string[] = []): Promise<Transfer> => {
      const outDir = path.join(tmp.dir, 'runs', run);
      await rm(outDir, { recursive: true, force: true });
      await mkdir(outDir, { recursive: true });
      await syncAll();
      await expectPeers(tracker.port, infoHash, [seederPort]);
      const out = path.join(outDir, NAME);
      const listen = String(await freePort());
      const argv =
        kind === 'ours'
          ? [process.execPath, ...nodeFlagsFor(ROOT, 'requester'), ...nodeArgs, path.join(ROOT, 'dist', 'requester.js'), torrent, '--no-seed', '--port', listen, '--out', outDir, '--no-dht']
          : kind === 'curl'
            ? ['curl', '-sS', '--fail', '-o', out, `http://127.0.0.1:${seederPort}/file/${infoHash}`]
            : ['aria2c', '--no-conf', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--seed-time=0',
               '--file-allocation=none', '--summary-interval=0', '--bt-tracker-connect-timeout=5', '--console-log-level=warn', `--listen-port=${listen}`, '-d', outDir, torrent];
      const cpu0 = cpuSeconds(seederPid);
      const t0 = performance.now();
      const p = runTimed(kind, argv, { cwd: outDir });
      all.add(p.proc);
      const timer = setTimeout(() => p.kill('SIGKILL'), 300_000);
      const done = await p.done;
      clearTimeout(timer);
      all.delete(p.proc);
      if (done.code !== 0) throw new Error(`${kind} exited ${done.code}:\n${p.proc.out().slice(-2000)}\n${p.proc.err().slice(-2000)}`);
      if (kind !== 'ours') await runToEnd(['sync', '-f', out]); // ours fsyncs before its rename
      const seconds = (performance.now() - t0) / 1000;
      const seederCpu = cpuSeconds(seederPid) - cpu0;
      if ((await stat(out)).size !== SIZE || !(await sameBytes(out, source))) throw new Error(`${kind}: ${out} differs from the source`);
      await unlink(out);
      return { seconds, rate: SIZE / 1e9 / seconds, downloaderCpu: (done.user + done.sys) / (SIZE / GiB), seederCpu: seederCpu / (SIZE / GiB) };
    };

    for (let r = 1; r <= opts.rounds; r++) {
      const shift = (r - 1) % kinds.length;
      for (const kind of [...kinds.slice(shift), ...kinds.slice(0, shift)]) {
        const t = await once(kind, `r${r}-${kind}`);
        results[kind].push(t);
        log(`round ${r}/${opts.rounds} ${kind.padEnd(6)} ${t.rate.toFixed(3)} GB/s (${t.seconds.toFixed(2)} s); CPU s/GiB: downloader ${t.downloaderCpu.toFixed(2)}, seeder ${t.seederCpu.toFixed(2)}`);
      }
    }

    if (opts.profileDir) {
      await mkdir(opts.profileDir, { recursive: true });
      const name = 'transfer-1g-requester.cpuprofile';
      await rm(path.join(opts.profileDir, name), { force: true });
      const t = await once('ours', 'profile', ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`, `--cpu-prof-name=${name}`]);
      log(`profiled run (node --cpu-prof): ${t.rate.toFixed(3)} GB/s`);
      profiles.push({ title: `requester: node --cpu-prof dist/requester.js --no-seed, 1 GiB from our seeder (${t.rate.toFixed(2)} GB/s while profiled)`, file: path.join(opts.profileDir, name) });
    }
    await stop(seeder);
    await stop(tracker.proc);
  } finally {
    await Promise.all([...all].map((p) => stop(p)));
    await tmp.remove();
  }

  const m = (k: Kind, f: (t: Transfer) => number) => median(results[k].map(f));
  const notes = [
    `1 GiB random file, seeder --no-web-seed (1 MiB pieces); wall time from spawn to exit (+ sync -f for curl and aria2c); medians: ` +
      (['ours', 'curl', 'aria2c'] as Kind[]).filter((k) => results[k].length).map((k) => `${k} ${m(k, (t) => t.rate).toFixed(3)} GB/s (${m(k, (t) => t.seconds).toFixed(2)} s)`).join(', '),
    `CPU seconds per GiB (median): downloader ` +
      (['ours', 'curl', 'aria2c'] as Kind[]).filter((k) => results[k].length).map((k) => `${k} ${m(k, (t) => t.downloaderCpu).toFixed(2)}`).join(', ') +
      `; our seeder while serving ` +
      (['ours', 'curl', 'aria2c'] as Kind[]).filter((k) => results[k].length).map((k) => `${k === 'ours' ? 'our requester (HTTP piece API)' : k === 'curl' ? 'curl (/file)' : 'aria2c (wire protocol)'} ${m(k, (t) => t.seederCpu).toFixed(2)}`).join(', '),
  ];
  const detail = {
    bytes: SIZE,
    versions: { curl: skip.curl ? undefined : programVersion(['curl', '--version']), aria2c: skip.aria2c ? undefined : programVersion(['aria2c', '--version']) },
  };
  const rows: ScenarioResult[] = [];
  const perRound = (anchor: Kind, f: (t: Transfer) => number) =>
    results.ours.map((o, i) => ({ ours: r3(f(o)), anchor: results[anchor][i] ? r3(f(results[anchor][i]!)) : NaN, detail: { ours: o, anchor: results[anchor][i] } }));
  const anchors: Array<{ kind: Exclude<Kind, 'ours'>; name: string; target: number }> = [
    { kind: 'curl', name: 'curl /file + sync', target: 0.8 },
    { kind: 'aria2c', name: 'aria2c (wire) + sync', target: 1.0 },
  ];
  for (const a of anchors) {
    rows.push({ label: `1 GiB to disk vs ${a.kind}`, ours: 'requester --no-seed', anchor: a.name, unit: 'GB/s', target: { op: '>=', value: a.target }, rounds: perRound(a.kind, (t) => t.rate), skipped: skip[a.kind] });
  }
  for (const a of anchors) {
    rows.push({ label: `downloader CPU vs ${a.kind}`, ours: 'requester', anchor: a.kind, unit: 'CPU s/GiB', rounds: perRound(a.kind, (t) => t.downloaderCpu), skipped: skip[a.kind] });
  }
  rows[0]!.notes = notes;
  rows[0]!.detail = detail;
  if (profiles.length) rows[0]!.profiles = profiles;
  return rows;
}

export const scenario: Scenario = {
  name: 'transfer-1g',
  description: 'one seeder to one downloader, 1 GiB over loopback to disk: our requester vs curl (/file) and aria2c (wire)',
  run,
};
export default scenario;
