/**
 * wire-1g: 1 GiB over the BitTorrent wire protocol only, seeder to downloader over loopback, to disk.
 *   ours:    our seeder -> our requester `--protocol wire --no-seed` (no HTTP piece API, no web
 *            seed: the seeder has `--no-web-seed`); spawn to exit (it fsyncs before its rename)
 *   anchors: aria2c seeding -> aria2c downloading (+ `sync -f`); libtorrent -> libtorrent over
 *            TCP and over uTP (+ `sync -f`; both in a loopback-only netns, harness/libtorrent.ts
 *            loaded at run time); our seeder -> our requester `--protocol http` (our HTTP piece path)
 *   variants (rows appear when this build's requester has the flags): `--transport utp` and
 *            `--encryption require` (MSE/RC4), the same seeder.
 * Each seeder runs for all the rounds, on its own tracker and torrent (same info_hash, another
 * announce URL: retargetTorrent), so no downloader ever sees the other family's seeder. Rounds
 * rotate the order by one. Every file is compared with the source after its timing. CPU per GiB:
 * the downloader's from bash `times`, the seeder's from /proc/<pid>/stat around the download.
 * BENCH_WIRE_MIB=<n> shrinks the file for a quick look (the claims are on 1 GiB).
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { tempDir, freePort, startTracker, type Proc } from '../harness/procs.ts';
import { median, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenario.ts';
import { GiB, MiB, ROOT, expectPeers, r3, startTrackerAndSeeder, stop, writeRandomFile, readThrough } from './support.ts';
import { missingProgram, programVersion } from './anchors.ts';
import { nodeFlagsFor } from '../src/cli/node-flags.ts';
import { aria2Download, loadLibtorrent, ltLeech, requesterFlags, retargetTorrent, startAria2Seeder, timedDownload, TCP_ONLY, UTP_ONLY, type LtDriver, type LtHandle, type Timed } from './wire-support.ts';
import { createNetns, type Netns } from '../test/support/netns.ts';

const SIZE = process.env['BENCH_WIRE_MIB'] ? Number(process.env['BENCH_WIRE_MIB']) * MiB : GiB;
const NAME = 'wire-1GiB.bin';
type Kind = 'wire' | 'http' | 'utp' | 'mse' | 'aria2c' | 'lt' | 'lt-utp';

/** Our requester's extra flags for each of our kinds. */
const OURS: Record<Exclude<Kind, 'aria2c' | 'lt' | 'lt-utp'>, string[]> = {
  wire: ['--protocol', 'wire'],
  http: ['--protocol', 'http'],
  utp: ['--protocol', 'wire', '--transport', 'utp'],
  mse: ['--protocol', 'wire', '--encryption', 'require'],
};

async function run(opts: ScenarioOptions): Promise<ScenarioResult[]> {
  const { log } = opts;
  const flags = requesterFlags();
  const lt = await loadLibtorrent();
  const skip: Partial<Record<Kind, string>> = {
    wire: flags.has('--protocol') ? undefined : 'this build of the requester has no --protocol flag (it uses the HTTP piece API for peers of ours)',
    aria2c: missingProgram('aria2c', 'aria2'),
    utp: flags.has('--transport') ? undefined : 'this build of the requester has no --transport flag (uTP not integrated)',
    mse: flags.has('--encryption') ? undefined : 'this build of the requester has no --encryption flag (MSE not integrated)',
    lt: typeof lt === 'string' ? lt : undefined,
  };
  if (skip.wire) skip.utp = skip.mse = skip.wire;
  // libtorrent over uTP is slow here (minutes per GiB): run only when there is ours to compare.
  skip['lt-utp'] = skip.lt ?? (skip.utp ? 'no uTP of ours to compare with' : undefined);
  for (const [k, why] of Object.entries(skip)) if (why) log(`SKIPPED ${k}: ${why}`);
  const kinds = (['wire', 'aria2c', 'lt', 'http', 'utp', 'lt-utp', 'mse'] as Kind[]).filter((k) => !skip[k]);
  const all = new Set<Proc>();
  const results: Record<Kind, Timed[]> = { wire: [], http: [], utp: [], mse: [], aria2c: [], lt: [], 'lt-utp': [] };
  const lts = new Set<LtHandle>();
  let ns: Netns | undefined;
  const tmp = await tempDir('p2p-bench-wire-');
  try {
    const seedDir = path.join(tmp.dir, 'seeder');
    await mkdir(seedDir, { recursive: true });
    const source = path.join(seedDir, NAME);
    log(`generating ${SIZE / MiB} MiB of random data in ${tmp.dir}`);
    await writeRandomFile(source, SIZE);
    const ours = await startTrackerAndSeeder(tmp.dir, source, { interval: 60, all });
    await readThrough(source);
    const seeders: Partial<Record<Kind, { pid: number; port: number; trackerPort: number; torrent: string }>> = {};
    for (const k of ['wire', 'http', 'utp', 'mse'] as const) seeders[k] = { pid: ours.seeder.child.pid!, port: ours.seederPort, trackerPort: ours.tracker.port, torrent: ours.torrent };
    if (!skip.aria2c) {
      const tracker = await startTracker(tmp.dir, ['--interval', '60']);
      all.add(tracker.proc);
      const torrent = path.join(tmp.dir, 'aria2c.torrent');
      await retargetTorrent(ours.torrent, torrent, tracker.announce);
      const seeder = await startAria2Seeder(torrent, seedDir);
      all.add(seeder.proc);
      seeders.aria2c = { pid: seeder.proc.child.pid!, port: seeder.port, trackerPort: tracker.port, torrent };
      await expectPeers(tracker.port, ours.infoHash, [seeder.port]);
    }
    if (typeof lt !== 'string') {
      ns = createNetns();
      const tracker = await startTracker(tmp.dir, ['--interval', '60'], ns.name);
      all.add(tracker.proc);
      const torrent = path.join(tmp.dir, 'lt.torrent');
      await retargetTorrent(ours.torrent, torrent, tracker.announce);
      const seeder = await lt.startLibtorrent(ns.name, { role: 'seeder', torrent, save_path: seedDir, seed_mode: true }, { cwd: tmp.dir, label: 'libtorrent seeder' });
      lts.add(seeder);
      await seeder.waitFor((l) => l.state === 'seeding', 60_000, 'seeding');
      seeders.lt = seeders['lt-utp'] = { pid: seeder.proc.child.pid!, port: 0, trackerPort: 0, torrent };
    }
    log(`our seeder on ${ours.seederPort}${seeders.aria2c ? `, aria2c seeder on ${seeders.aria2c.port}` : ''}, info_hash ${ours.infoHash}`);

    const once = async (kind: Kind, round: string): Promise<Timed> => {
      const s = seeders[kind]!;
      const outDir = path.join(tmp.dir, 'runs', `${round}-${kind}`);
      if (kind === 'lt' || kind === 'lt-utp') {
        const o = { outDir, file: NAME, source, size: SIZE, seederPid: s.pid, syncAfter: true };
        return ltLeech(lt as LtDriver, ns!.name, s.torrent, o, lts, kind === 'lt' ? TCP_ONLY : UTP_ONLY);
      }
      await expectPeers(s.trackerPort, ours.infoHash, [s.port]);
      const listen = await freePort();
      const argv =
        kind === 'aria2c'
          ? aria2Download(s.torrent, outDir, listen)
          : [process.execPath, ...nodeFlagsFor(ROOT, 'requester'), path.join(ROOT, 'dist', 'requester.js'), s.torrent, '--no-seed', '--port', String(listen), '--out', outDir, '--no-dht', ...OURS[kind]];
      return timedDownload(kind, argv, { outDir, file: NAME, source, size: SIZE, seederPid: s.pid, syncAfter: kind === 'aria2c', all });
    };

    for (let r = 1; r <= opts.rounds; r++) {
      const shift = (r - 1) % kinds.length;
      for (const kind of [...kinds.slice(shift), ...kinds.slice(0, shift)]) {
        const t = await once(kind, `r${r}`);
        results[kind].push(t);
        log(`round ${r}/${opts.rounds} ${kind.padEnd(6)} ${t.rate.toFixed(3)} GB/s (${t.seconds.toFixed(2)} s); CPU s/GiB: downloader ${t.downloaderCpu.toFixed(2)}, seeder ${t.seederCpu.toFixed(2)}`);
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

function rows(results: Record<Kind, Timed[]>, skip: Partial<Record<Kind, string>>): ScenarioResult[] {
  const m = (k: Kind, f: (t: Timed) => number) => median(results[k].map(f));
  const measured = (Object.keys(results) as Kind[]).filter((k) => results[k].length);
  const notes = [
    `${SIZE / MiB} MiB random file, 1 MiB pieces; wall time from spawn to exit (+ sync -f for aria2c; libtorrent: spawn to its finished line + sync -f); medians: ` + measured.map((k) => `${k} ${m(k, (t) => t.rate).toFixed(3)} GB/s (${m(k, (t) => t.seconds).toFixed(2)} s)`).join(', '),
    `CPU s/GiB (median), downloader / its seeder: ` + measured.filter((k) => k !== 'lt' && k !== 'lt-utp').map((k) => `${k} ${m(k, (t) => t.downloaderCpu).toFixed(2)} / ${m(k, (t) => t.seederCpu).toFixed(2)}`).join(', '),
  ];
  const perRound = (ours: Kind, anchor: Kind, f: (t: Timed) => number) =>
    results[ours].map((o, i) => ({ ours: r3(f(o)), anchor: results[anchor][i] ? r3(f(results[anchor][i]!)) : NaN, detail: { ours: o, anchor: results[anchor][i] } }));
  const rate = (t: Timed) => t.rate;
  const out: ScenarioResult[] = [
    { label: 'wire 1 GiB vs aria2c -> aria2c', ours: 'seeder -> requester --protocol wire', anchor: 'aria2c -> aria2c + sync', unit: 'GB/s', target: { op: '>=', value: 1.5 }, rounds: perRound('wire', 'aria2c', rate), skipped: skip.wire ?? skip.aria2c },
    { label: 'wire 1 GiB vs libtorrent -> libtorrent (TCP)', ours: 'seeder -> requester --protocol wire', anchor: 'libtorrent -> libtorrent, TCP only + sync', unit: 'GB/s', target: { op: '>=', value: 1.5 }, rounds: perRound('wire', 'lt', rate), skipped: skip.wire ?? skip.lt },
    { label: 'wire 1 GiB vs our HTTP piece path', ours: 'requester --protocol wire', anchor: 'requester --protocol http', unit: 'GB/s', target: { op: '>=', value: 0.8 }, rounds: perRound('wire', 'http', rate), skipped: skip.wire },
    { label: 'seeder CPU: wire vs HTTP', ours: 'our seeder, to our requester over the wire', anchor: 'the same over HTTP', unit: 'CPU s/GiB', rounds: perRound('wire', 'http', (t) => t.seederCpu), skipped: skip.wire },
    { label: 'requester CPU: wire vs HTTP', ours: 'requester --protocol wire', anchor: 'requester --protocol http', unit: 'CPU s/GiB', rounds: perRound('wire', 'http', (t) => t.downloaderCpu), skipped: skip.wire },
    { label: 'uTP 1 GiB vs libtorrent -> libtorrent (uTP)', ours: 'requester --transport utp', anchor: 'libtorrent -> libtorrent, uTP only + sync', unit: 'GB/s', target: { op: '>=', value: 1.0 }, rounds: perRound('utp', 'lt-utp', rate), skipped: skip.utp ?? skip.lt },
    { label: 'MSE (RC4) 1 GiB vs plain wire', ours: 'requester --encryption require', anchor: 'requester --protocol wire (plain)', unit: 'GB/s', rounds: perRound('mse', 'wire', rate), skipped: skip.mse },
  ];
  out[0]!.notes = notes;
  out[0]!.detail = { bytes: SIZE, versions: { aria2c: skip.aria2c ? undefined : programVersion(['aria2c', '--version']) } };
  return out;
}

export const scenario: Scenario = {
  name: 'wire-1g',
  description: '1 GiB over the wire protocol only, to disk: our seeder -> our requester vs aria2c -> aria2c, libtorrent -> libtorrent and our HTTP piece path (uTP, MSE when built in)',
  run,
};
export default scenario;
