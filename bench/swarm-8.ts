/**
 * swarm-8: does a swarm multiply a capped seeder? One seeder capped at 16 MiB/s
 * (`--max-upload-rate 16M`, `--no-web-seed`) and 8 requesters (`--seed`, so that they feed each
 * other) started together on a 256 MiB random file, tracker `--interval 2`. The time from
 * spawning the first requester until the last one prints `File downloaded:` is compared with the
 * ideal: the seeder has to upload every byte at least once, size / cap = 256 MiB / 16 MiB/s =
 * 16 s. Target: within 1.3 x the ideal. After each round the 8 requesters get SIGTERM (they
 * announce `stopped`) and the tracker must list the seeder alone before the next round.
 * No anchor: the ratio is to the ideal (its "anchor" column is the constant 16 s).
 */
import path from 'node:path';
import { mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { tempDir, freePort, type Proc } from '../harness/procs.ts';
import { median, type RoundResult, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenario.ts';
import { MiB, expectPeers, getJson, r2, runOurs, startTrackerAndSeeder, stop, syncAll, timeLines, writeRandomFile } from './support.ts';

const SIZE = 256 * MiB;
const NAME = 'swarm8-256MiB.bin';
const REQUESTERS = 8;
const RATE = '16M';
const RATE_BYTES = 16 * MiB;
const IDEAL = SIZE / RATE_BYTES;
const TARGET = 1.3;

async function uploaded(port: number): Promise<number> {
  return ((await getJson(`http://127.0.0.1:${port}/stats`)) as { uploaded: number }).uploaded;
}

async function run(opts: ScenarioOptions): Promise<ScenarioResult> {
  const { log } = opts;
  const all = new Set<Proc>();
  const rounds: RoundResult[] = [];
  const notes: string[] = [];
  const tmp = await tempDir('p2p-bench-swarm8-');
  try {
    const seedDir = path.join(tmp.dir, 'seeder');
    await mkdir(seedDir, { recursive: true });
    const source = path.join(seedDir, NAME);
    log(`generating ${SIZE / MiB} MiB of random data in ${tmp.dir}`);
    await writeRandomFile(source, SIZE);
    const { tracker, seeder, seederPort, infoHash, torrent } = await startTrackerAndSeeder(tmp.dir, source, { interval: 2, seederArgs: ['--max-upload-rate', RATE], all });
    const sourceBytes = await readFile(source);
    log(`tracker on ${tracker.port} (--interval 2), seeder on ${seederPort} capped at ${RATE}, info_hash ${infoHash}`);

    for (let r = 1; r <= opts.rounds; r++) {
      await syncAll();
      await expectPeers(tracker.port, infoHash, [seederPort]);
      const up0 = await uploaded(seederPort);
      const load = os.loadavg()[0]!;
      const reqs: Array<{ proc: Proc; lines: Array<{ t: number; line: string }>; out: string; port: number }> = [];
      const t0 = performance.now();
      try {
        for (let i = 0; i < REQUESTERS; i++) {
          const port = await freePort();
          const out = path.join(tmp.dir, 'runs', `r${r}-${i}`);
          await mkdir(out, { recursive: true });
          const proc = runOurs('requester', [torrent, '--seed', '--port', String(port), '--out', out], { cwd: out });
          all.add(proc);
          reqs.push({ proc, lines: timeLines(proc), out, port });
        }
        await Promise.all(reqs.map((q) => q.proc.waitFor(/File downloaded: /, 300_000)));
        const last = performance.now();
        const up = (await uploaded(seederPort)) - up0;
        const finish = reqs.map((q) => (q.lines.find((l) => /^File downloaded: /.test(l.line))?.t ?? last) - t0).map((ms) => ms / 1000);
        const seconds = Math.max(...finish);
        const fromSeeder = reqs.map((q) => {
          const line = q.lines.find((l) => /^Pieces received: /.test(l.line))?.line ?? '';
          const m = new RegExp(`(\\d+) from 127\\.0\\.0\\.1:${seederPort}\\b`).exec(line);
          return m ? Number(m[1]) : 0;
        });
        for (const q of reqs) {
          const got = await readFile(path.join(q.out, NAME));
          if (!got.equals(sourceBytes)) throw new Error(`round ${r}: ${q.out}/${NAME} differs from the source`);
        }
        rounds.push({
          ours: r2(seconds),
          anchor: IDEAL,
          detail: { finishSeconds: finish.map(r2), seederUploadedMiB: r2(up / MiB), piecesFromSeeder: fromSeeder, loadavg1: r2(load) },
        });
        log(`round ${r}/${opts.rounds}: last of ${REQUESTERS} done after ${seconds.toFixed(2)} s (ideal ${IDEAL} s, ${(seconds / IDEAL).toFixed(2)}x); finishes ${finish.map((x) => x.toFixed(1)).join(' ')} s; seeder uploaded ${(up / MiB).toFixed(0)} MiB (${(up / SIZE).toFixed(2)} copies)`);
      } finally {
        await Promise.all(reqs.map((q) => stop(q.proc)));
        for (const q of reqs) all.delete(q.proc);
        await rm(path.join(tmp.dir, 'runs'), { recursive: true, force: true });
      }
    }
    const copies = median(rounds.map((x) => (x.detail!['seederUploadedMiB'] as number) / (SIZE / MiB)));
    notes.push(
      `${REQUESTERS} requesters (--seed) started together, 256 MiB, seeder --max-upload-rate ${RATE} --no-web-seed, tracker --interval 2; ideal = size / cap = ${IDEAL} s; the seeder uploaded a median ${copies.toFixed(2)} copies of the file per round`,
    );
    await stop(seeder);
    await stop(tracker.proc);
  } finally {
    await Promise.all([...all].map((p) => stop(p)));
    await tmp.remove();
  }
  return {
    label: 'last of 8 done',
    ours: '1 seeder @ 16M + 8 requesters',
    anchor: 'ideal size/cap',
    unit: 's',
    target: { op: '<=', value: TARGET },
    rounds,
    notes,
    detail: { bytes: SIZE, requesters: REQUESTERS, maxUploadRate: RATE, idealSeconds: IDEAL },
  };
}

export const scenario: Scenario = {
  name: 'swarm-8',
  description: '1 seeder capped at 16 MiB/s and 8 requesters on 256 MiB: time until the last finishes vs size / cap',
  run,
};
export default scenario;
