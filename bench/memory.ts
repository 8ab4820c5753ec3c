/**
 * memory: how much memory ours takes where it matters.
 *   requester peak RSS: our requester (`--no-seed`) downloading a 2 GiB file (sparse source, so
 *     the seeder hashes and serves zeros; the requester still receives, verifies and writes
 *     2 GiB) from our seeder; VmHWM of its /proc/<pid>/status polled every 50 ms until it exits.
 *     Compared with the 120 MiB budget (the "anchor" column is that constant).
 *   tracker RSS growth per 100,000 peers: a fresh tracker, VmRSS, then 5,000 torrents x 20 peers
 *     announced (100,000 distinct peers, the same loader for both), VmRSS again 1 s later;
 *     growth = after - before. Ours vs bittorrent-tracker (same process setup as tracker-announce).
 * Rounds alternate bittorrent-tracker, our tracker, our requester.
 */
import path from 'node:path';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { tempDir, freePort, type Proc } from '../harness/procs.ts';
import { median, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenario.ts';
import { GiB, KiB, MiB, expectPeers, r2, runOurs, sleep, startTrackerAndSeeder, statusKiB, stop, syncAll, watchPeak } from './support.ts';
import { npmAnchor } from './anchors.ts';
import { benchInfoHashes, populate, startTracker, writeHashFile, type TrackerKind } from './tracker-load.ts';

const DOWNLOAD = 2 * GiB;
const NAME = 'memory-2GiB.bin';
const BUDGET_MIB = 120;
const TORRENTS = 5_000;
const PEERS = 20;
const TRACKER_TARGET = 0.5;

async function trackerGrowth(kind: TrackerKind, dir: string, hashFile: string, hashes: Buffer[]): Promise<{ beforeMiB: number; afterMiB: number; growthMiB: number }> {
  const t = await startTracker(kind, dir, hashFile);
  try {
    await sleep(500);
    const before = statusKiB(t.pid, 'VmRSS');
    await populate(t.port, hashes, PEERS);
    await sleep(1000);
    const after = statusKiB(t.pid, 'VmRSS');
    if (!Number.isFinite(before) || !Number.isFinite(after)) throw new Error(`${kind}: cannot read /proc/${t.pid}/status`);
    return { beforeMiB: r2(before / KiB), afterMiB: r2(after / KiB), growthMiB: r2((after - before) / KiB) };
  } finally {
    await stop(t.proc);
  }
}

async function run(opts: ScenarioOptions): Promise<ScenarioResult[]> {
  const { log } = opts;
  const noBtt = await npmAnchor('bittorrent-tracker', log);
  if (noBtt) log(`SKIPPED bittorrent-tracker: ${noBtt}`);
  const all = new Set<Proc>();
  const growth: Record<'ours' | 'bittorrent-tracker', Array<{ beforeMiB: number; afterMiB: number; growthMiB: number }>> = { ours: [], 'bittorrent-tracker': [] };
  const peaks: Array<{ peakMiB: number; seconds: number }> = [];
  const tmp = await tempDir('p2p-bench-memory-');
  try {
    const hashes = benchInfoHashes(TORRENTS, 'bench-memory');
    const hashFile = path.join(tmp.dir, 'hashes.txt');
    await writeHashFile(hashFile, hashes);

    // The 2 GiB download's seeder, for every round.
    const seedDir = path.join(tmp.dir, 'seeder');
    await mkdir(seedDir, { recursive: true });
    const source = path.join(seedDir, NAME);
    const fh = await open(source, 'w');
    await fh.truncate(DOWNLOAD); // sparse: no 2 GiB written to make it
    await fh.close();
    const { tracker, seeder, seederPort, infoHash, torrent } = await startTrackerAndSeeder(tmp.dir, source, { interval: 60, all });

    for (let r = 1; r <= opts.rounds; r++) {
      for (const kind of ['bittorrent-tracker', 'ours'] as const) {
        if (kind === 'bittorrent-tracker' && noBtt) continue;
        const g = await trackerGrowth(kind, tmp.dir, hashFile, hashes);
        growth[kind].push(g);
        log(`round ${r}/${opts.rounds} ${kind.padEnd(18)} tracker VmRSS ${g.beforeMiB.toFixed(1)} -> ${g.afterMiB.toFixed(1)} MiB: +${g.growthMiB.toFixed(1)} MiB for ${TORRENTS * PEERS} peers`);
      }

      await syncAll();
      await expectPeers(tracker.port, infoHash, [seederPort]);
      const out = path.join(tmp.dir, 'runs', `r${r}`);
      await mkdir(out, { recursive: true });
      const t0 = performance.now();
      const req = runOurs('requester', [torrent, '--no-seed', '--port', String(await freePort()), '--out', out], { cwd: out });
      all.add(req);
      const watch = watchPeak(req.child.pid!, 50);
      const code = await req.exited;
      const peakKiB = watch.stop();
      all.delete(req);
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) throw new Error(`requester exited ${code}:\n${req.out().slice(-2000)}${req.err().slice(-2000)}`);
      if ((await stat(path.join(out, NAME))).size !== DOWNLOAD) throw new Error('requester: downloaded file has the wrong size');
      await rm(out, { recursive: true, force: true });
      peaks.push({ peakMiB: r2(peakKiB / KiB), seconds: r2(seconds) });
      log(`round ${r}/${opts.rounds} requester peak VmHWM ${(peakKiB / KiB).toFixed(1)} MiB for ${DOWNLOAD / GiB} GiB (${seconds.toFixed(1)} s)`);
    }
    await stop(seeder);
    await stop(tracker.proc);
  } finally {
    await Promise.all([...all].map((p) => stop(p)));
    await tmp.remove();
  }
  const per100k = 100_000 / (TORRENTS * PEERS);
  const mg = (k: 'ours' | 'bittorrent-tracker') => median(growth[k].map((g) => g.growthMiB)) * per100k;
  return [
    {
      label: 'requester peak RSS, 2 GiB download',
      ours: 'requester --no-seed',
      anchor: `budget ${BUDGET_MIB} MiB`,
      unit: 'MiB',
      target: { op: '<=', value: 1.0 },
      rounds: peaks.map((p) => ({ ours: p.peakMiB, anchor: BUDGET_MIB, detail: p })),
      notes: [`requester VmHWM polled every 50 ms, 2 GiB sparse source served by our seeder (--no-web-seed); median download ${median(peaks.map((p) => p.seconds)).toFixed(1)} s`],
    },
    {
      label: 'tracker RSS growth per 100k peers',
      ours: 'our tracker',
      anchor: 'bittorrent-tracker',
      unit: 'MiB',
      target: { op: '<=', value: TRACKER_TARGET },
      rounds: growth.ours.map((g, i) => ({ ours: r2(g.growthMiB * per100k), anchor: growth['bittorrent-tracker'][i] ? r2(growth['bittorrent-tracker'][i]!.growthMiB * per100k) : NaN, detail: { ours: g, anchor: growth['bittorrent-tracker'][i] } })),
      skipped: noBtt,
      notes: [
        `fresh tracker per round, ${TORRENTS} torrents x ${PEERS} peers = ${TORRENTS * PEERS} distinct peers announced (keep-alive loader, 64 in flight); VmRSS 1 s after the last announce minus VmRSS before; median growth ours ${mg('ours').toFixed(1)} MiB${noBtt ? '' : `, bittorrent-tracker ${mg('bittorrent-tracker').toFixed(1)} MiB`} (baseline VmRSS ours ${median(growth.ours.map((g) => g.beforeMiB)).toFixed(1)} MiB${noBtt ? '' : `, bittorrent-tracker ${median(growth['bittorrent-tracker'].map((g) => g.beforeMiB)).toFixed(1)} MiB`})`,
      ],
    },
  ];
}

export const scenario: Scenario = {
  name: 'memory',
  description: 'requester peak RSS on a 2 GiB download (budget 120 MiB) and tracker RSS growth per 100,000 peers vs bittorrent-tracker',
  run,
};
export default scenario;
