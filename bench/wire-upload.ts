/**
 * wire-upload: our seeder uploading over the BitTorrent wire protocol, 256 MiB, TCP only, every
 * process in one loopback-only network namespace (libtorrent must see loopback only).
 *   1. a libtorrent leecher downloading from our seeder vs the same leecher from a libtorrent
 *      seeder (uTP off on both: this row is TCP), spawn to its `finished` line (libtorrent has
 *      checked every piece); target >= 1.0
 *   2. our seeder's CPU per GiB uploaded over the wire (to aria2c, as issue #15 measured it)
 *      vs over its HTTP piece API (to our requester `--protocol http`); target <= 1.5
 * Each seeder has its own tracker and torrent (same info_hash, another announce URL), so no
 * leecher sees the other seeder. Rounds alternate and rotate. Seeders' CPU: /proc/<pid>/stat
 * around each download. Every downloaded file is compared with the source.
 * libtorrent comes from harness/libtorrent.ts (issue #15's driver), loaded at run time: without
 * it (or without python3-libtorrent) row 1 is SKIPPED with the reason.
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { tempDir, freePort, runCli, startTracker, type Proc } from '../harness/procs.ts';
import { createNetns, type Netns } from '../test/support/netns.ts';
import { median, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenario.ts';
import { MiB, ROOT, r3, stop, writeRandomFile, readThrough } from './support.ts';
import { missingProgram } from './anchors.ts';
import { nodeFlagsFor } from '../src/cli/node-flags.ts';
import { aria2Download, loadLibtorrent, ltLeech, requesterFlags, retargetTorrent, timedDownload, TCP_ONLY, type LtDriver, type LtHandle, type Timed } from './wire-support.ts';

const SIZE = process.env['BENCH_WIRE_MIB'] ? Number(process.env['BENCH_WIRE_MIB']) * MiB : 256 * MiB;
const NAME = 'wire-upload.bin';
type Kind = 'lt-from-ours' | 'lt-from-lt' | 'aria2c' | 'http';

async function run(opts: ScenarioOptions): Promise<ScenarioResult[]> {
  const { log } = opts;
  const lt = await loadLibtorrent();
  const skip: Partial<Record<Kind, string>> = {
    'lt-from-ours': typeof lt === 'string' ? lt : undefined,
    aria2c: missingProgram('aria2c', 'aria2'),
    http: requesterFlags().has('--protocol') ? undefined : 'this build of the requester has no --protocol flag',
  };
  skip['lt-from-lt'] = skip['lt-from-ours'];
  for (const [k, why] of Object.entries(skip)) if (why) log(`SKIPPED ${k}: ${why}`);
  const kinds = (['lt-from-ours', 'aria2c', 'lt-from-lt', 'http'] as Kind[]).filter((k) => !skip[k]);
  const results: Record<Kind, Timed[]> = { 'lt-from-ours': [], 'lt-from-lt': [], aria2c: [], http: [] };
  const all = new Set<Proc>();
  const lts = new Set<LtHandle>();
  let ns: Netns | undefined;
  const tmp = await tempDir('p2p-bench-wire-upload-');
  try {
    ns = createNetns();
    const seedDir = path.join(tmp.dir, 'seeder');
    await mkdir(seedDir, { recursive: true });
    const source = path.join(seedDir, NAME);
    log(`generating ${SIZE / MiB} MiB of random data; namespace ${ns.name}`);
    await writeRandomFile(source, SIZE);
    const ours = await startOurSeeder(tmp.dir, source, ns, all);
    await readThrough(source);
    const seederPid: Partial<Record<Kind, number>> = { 'lt-from-ours': ours.pid, aria2c: ours.pid, http: ours.pid };
    let ltTorrent = '';
    if (typeof lt !== 'string') {
      const tracker = await startTracker(tmp.dir, ['--interval', '60'], ns.name);
      all.add(tracker.proc);
      ltTorrent = path.join(tmp.dir, 'lt.torrent');
      await retargetTorrent(ours.torrent, ltTorrent, tracker.announce);
      const seeder = await lt.startLibtorrent(ns.name, { role: 'seeder', torrent: ltTorrent, save_path: seedDir, seed_mode: true, ...TCP_ONLY }, { cwd: tmp.dir, label: 'libtorrent seeder' });
      lts.add(seeder);
      await seeder.waitFor((l) => l.state === 'seeding', 60_000, 'seeding');
      seederPid['lt-from-lt'] = seeder.proc.child.pid!;
    }
    const wrap = ns.wrap;
    const once = async (kind: Kind, round: number): Promise<Timed> => {
      const outDir = path.join(tmp.dir, 'runs', `r${round}-${kind}`);
      const common = { outDir, file: NAME, source, size: SIZE, seederPid: seederPid[kind]!, all };
      if (kind === 'aria2c') return timedDownload(kind, wrap(aria2Download(ours.torrent, outDir, await freePort())), { ...common, syncAfter: false });
      if (kind === 'http') {
        const argv = [process.execPath, ...nodeFlagsFor(ROOT, 'requester'), path.join(ROOT, 'dist', 'requester.js'), ours.torrent, '--no-seed', '--port', String(await freePort()), '--out', outDir, '--protocol', 'http', '--no-dht'];
        return timedDownload(kind, wrap(argv), { ...common, syncAfter: false });
      }
      return ltLeech(lt as LtDriver, ns!.name, kind === 'lt-from-ours' ? ours.torrent : ltTorrent, common, lts);
    };
    for (let r = 1; r <= opts.rounds; r++) {
      const shift = (r - 1) % kinds.length;
      for (const kind of [...kinds.slice(shift), ...kinds.slice(0, shift)]) {
        const t = await once(kind, r);
        results[kind].push(t);
        log(`round ${r}/${opts.rounds} ${kind.padEnd(12)} ${t.rate.toFixed(3)} GB/s (${t.seconds.toFixed(2)} s); seeder CPU ${t.seederCpu.toFixed(2)} s/GiB`);
      }
    }
  } finally {
    await Promise.all([...lts].map((l) => l.stop().catch(() => undefined)));
    await Promise.all([...all].map((p) => stop(p)));
    ns?.remove();
    await tmp.remove();
  }
  return rows(results, skip);
}

/** Our tracker and seeder (`--no-web-seed`, 1 MiB pieces by default) in the namespace. */
async function startOurSeeder(dir: string, source: string, ns: Netns, all: Set<Proc>): Promise<{ pid: number; torrent: string }> {
  const tracker = await startTracker(dir, ['--interval', '60'], ns.name);
  all.add(tracker.proc);
  const port = await freePort();
  const torrents = path.join(dir, 'torrents');
  const seeder = runCli('seeder', [source, '--port', String(port), '--tracker', tracker.announce, '--dir', path.dirname(source), '--requester-dir', torrents, '--no-web-seed'], { cwd: dir, netns: ns.name });
  all.add(seeder);
  await seeder.waitFor(/\* Running on http:\/\//, 120_000);
  return { pid: seeder.child.pid!, torrent: path.join(torrents, `${path.basename(source)}.torrent`) };
}

function rows(results: Record<Kind, Timed[]>, skip: Partial<Record<Kind, string>>): ScenarioResult[] {
  const m = (k: Kind, f: (t: Timed) => number) => median(results[k].map(f));
  const measured = (Object.keys(results) as Kind[]).filter((k) => results[k].length);
  const perRound = (ours: Kind, anchor: Kind, f: (t: Timed) => number) =>
    results[ours].map((o, i) => ({ ours: r3(f(o)), anchor: results[anchor][i] ? r3(f(results[anchor][i]!)) : NaN, detail: { ours: o, anchor: results[anchor][i] } }));
  const out: ScenarioResult[] = [
    { label: 'libtorrent leecher: from our seeder vs from a libtorrent seeder', ours: 'our seeder (wire, TCP)', anchor: 'libtorrent seeder (TCP)', unit: 'GB/s', target: { op: '>=', value: 1.0 }, rounds: perRound('lt-from-ours', 'lt-from-lt', (t) => t.rate), skipped: skip['lt-from-ours'] },
    { label: 'our seeder CPU: wire (aria2c) vs HTTP (our requester)', ours: 'uploading to aria2c over the wire', anchor: 'uploading to requester --protocol http', unit: 'CPU s/GiB', target: { op: '<=', value: 1.5 }, rounds: perRound('aria2c', 'http', (t) => t.seederCpu), skipped: skip.aria2c ?? skip.http },
    { label: 'seeder CPU to a libtorrent leecher: ours vs libtorrent', ours: 'our seeder', anchor: 'libtorrent seeder', unit: 'CPU s/GiB', rounds: perRound('lt-from-ours', 'lt-from-lt', (t) => t.seederCpu), skipped: skip['lt-from-ours'] },
  ];
  out[0]!.notes = [
    `${SIZE / MiB} MiB random file, 1 MiB pieces, loopback-only netns; medians: ` + measured.map((k) => `${k} ${m(k, (t) => t.rate).toFixed(3)} GB/s (${m(k, (t) => t.seconds).toFixed(2)} s), seeder ${m(k, (t) => t.seederCpu).toFixed(2)} CPU s/GiB`).join('; '),
  ];
  return out;
}

export const scenario: Scenario = {
  name: 'wire-upload',
  description: 'our seeder over the wire, 256 MiB in a loopback-only netns: a libtorrent leecher from ours vs from libtorrent; seeder CPU wire vs HTTP',
  run,
};
export default scenario;
