/**
 * torrent-create: hashing a 1 GiB and a 4 GiB file (in the page cache) into a .torrent with 1 MiB
 * pieces. The 4 GiB row carries the mktorrent target: there Node's fixed start-up cost (~90 ms:
 * start, import, worker boot) no longer dominates; the 1 GiB rows stay as information.
 *   ours: makeTorrent (dist/metainfo/create.js, what the seeder runs) in a fresh node process
 *         (bench/torrent-create-worker.mjs)
 *   anchors: `mktorrent -t 2 -l 20` (C, two hashing threads) and create-torrent (npm, webtorrent's,
 *         pieceLength 1 MiB) in a fresh node process, the same worker script
 * Each is timed from spawn to exit (process start included for all three); rounds alternate
 * mktorrent, create-torrent, ours. Our info_hash must equal mktorrent's (checked every round).
 * The rate is GB/s = 10^9 bytes per second.
 */
import path from 'node:path';
import { readFile, rm } from 'node:fs/promises';
import { tempDir } from '../harness/procs.ts';
import { parseMetainfo } from '../src/metainfo/metainfo.ts';
import { median, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenario.ts';
import { GiB, HERE, MiB, r3, readThrough, run as runToEnd, writeRandomFile } from './support.ts';
import { anchorVersion, missingProgram, npmAnchor, programVersion } from './anchors.ts';

const SIZES = [GiB, 4 * GiB];
const PIECE = MiB;
/** create-torrent runs on the 1 GiB file only (about 10 s a round on 4 GiB, for no new fact). */
const CREATE_TORRENT_MAX = GiB;
const ANNOUNCE = 'http://127.0.0.1:5001/announce';
type Kind = 'ours' | 'mktorrent' | 'create-torrent';

async function infoHash(file: string): Promise<string> {
  return parseMetainfo(await readFile(file)).infoHashHex;
}

async function createOnce(kind: Kind, source: string, out: string): Promise<{ seconds: number; inProcess?: { importSeconds: number; createSeconds: number } }> {
  await rm(out, { force: true });
  const argv =
    kind === 'mktorrent'
      ? ['mktorrent', '-t', '2', '-l', String(Math.log2(PIECE)), '-a', ANNOUNCE, '-o', out, source]
      : [process.execPath, path.join(HERE, 'torrent-create-worker.mjs'), kind, source, out, ANNOUNCE, String(PIECE)];
  const t0 = performance.now();
  const { stdout } = await runToEnd(argv, { timeoutMs: 300_000 });
  const seconds = (performance.now() - t0) / 1000;
  const m = kind === 'mktorrent' ? null : /^\{.*\}$/m.exec(stdout);
  return { seconds, inProcess: m ? (JSON.parse(m[0]) as { importSeconds: number; createSeconds: number }) : undefined };
}

interface SizeRun {
  size: number;
  gbps: Record<Kind, number[]>;
  raw: Record<Kind, unknown[]>;
  hashes: Partial<Record<Kind, string>>;
}

/** Alternated rounds of every kind on one file of `size` bytes (read once first: page cache). */
async function measure(size: number, kinds: Kind[], opts: ScenarioOptions, dir: string): Promise<SizeRun> {
  const { log } = opts;
  const res: SizeRun = { size, gbps: { ours: [], mktorrent: [], 'create-torrent': [] }, raw: { ours: [], mktorrent: [], 'create-torrent': [] }, hashes: {} };
  const source = path.join(dir, `create-${size / GiB}GiB.bin`);
  log(`generating ${size / GiB} GiB of random data in ${dir}, then reading it once (page cache)`);
  await writeRandomFile(source, size);
  await readThrough(source);
  try {
    for (let r = 1; r <= opts.rounds; r++) {
      for (const kind of kinds) {
        const out = path.join(dir, `${kind}.torrent`);
        const once = await createOnce(kind, source, out);
        const h = await infoHash(out);
        res.hashes[kind] = h;
        if (kind === 'ours' && res.hashes.mktorrent && h !== res.hashes.mktorrent) {
          throw new Error(`our info_hash ${h} differs from mktorrent's ${res.hashes.mktorrent} (same ${size / GiB} GiB file, 1 MiB pieces)`);
        }
        const rate = size / 1e9 / once.seconds;
        res.gbps[kind].push(r3(rate));
        res.raw[kind].push({ seconds: r3(once.seconds), ...(once.inProcess ? { importSeconds: r3(once.inProcess.importSeconds), createSeconds: r3(once.inProcess.createSeconds) } : {}) });
        const inProc = once.inProcess ? `; in process: import ${once.inProcess.importSeconds.toFixed(3)} s, create ${once.inProcess.createSeconds.toFixed(2)} s` : '';
        log(`${size / GiB} GiB round ${r}/${opts.rounds} ${kind.padEnd(14)} ${rate.toFixed(3)} GB/s (${once.seconds.toFixed(2)} s spawn to exit${inProc})`);
      }
    }
  } finally {
    await rm(source, { force: true });
  }
  return res;
}

function notesFor(m: SizeRun): string[] {
  const { hashes } = m;
  const inProc = (k: Kind) => median((m.raw[k] as Array<{ createSeconds?: number }>).map((x) => x.createSeconds ?? NaN));
  const same = (k: Kind) => (hashes[k] && hashes[k] === hashes.mktorrent ? ' (equal)' : '');
  return [
    `${m.size / GiB} GiB random file read once before (page cache), 1 MiB pieces; spawn-to-exit time; info_hash: ours ${hashes.ours ?? '-'}${same('ours')}, mktorrent ${hashes.mktorrent ?? '-'}, create-torrent ${hashes['create-torrent'] ?? '-'}${same('create-torrent')}`,
    `${m.size / GiB} GiB in-process creation time only (no node start-up / import): ours ${inProc('ours').toFixed(2)} s = ${(m.size / 1e9 / inProc('ours')).toFixed(3)} GB/s${m.gbps['create-torrent'].length ? `, create-torrent ${inProc('create-torrent').toFixed(2)} s` : ''}`,
  ];
}

async function run(opts: ScenarioOptions): Promise<ScenarioResult[]> {
  const { log } = opts;
  const skip: Partial<Record<Kind, string>> = {
    mktorrent: missingProgram('mktorrent', 'mktorrent'),
    'create-torrent': await npmAnchor('create-torrent', log),
  };
  for (const [k, why] of Object.entries(skip)) if (why) log(`SKIPPED ${k}: ${why}`);
  const tmp = await tempDir('p2p-bench-create-');
  const runs: SizeRun[] = [];
  try {
    for (const size of SIZES) {
      const kinds = (['mktorrent', 'create-torrent', 'ours'] as Kind[]).filter((k) => !skip[k] && (k !== 'create-torrent' || size <= CREATE_TORRENT_MAX));
      runs.push(await measure(size, kinds, opts, tmp.dir));
    }
  } finally {
    await tmp.remove();
  }
  const mktorrentVersion = skip.mktorrent ? undefined : programVersion(['dpkg-query', '-W', '-f', '${Version}', 'mktorrent']);
  const row = (m: SizeRun, anchor: Exclude<Kind, 'ours'>, target: number | undefined): ScenarioResult => ({
    label: `${m.size / GiB} GiB vs ${anchor}`,
    ours: 'makeTorrent (worker threads)',
    anchor: anchor === 'mktorrent' ? 'mktorrent -t 2 -l 20' : 'create-torrent (1 MiB pieces)',
    unit: 'GB/s',
    target: target === undefined ? undefined : { op: '>=', value: target },
    rounds: m.gbps.ours.map((o, i) => ({ ours: o, anchor: m.gbps[anchor][i] ?? NaN, detail: { ours: m.raw.ours[i], anchor: m.raw[anchor][i] } })),
    skipped: skip[anchor],
    notes: notesFor(m),
    detail: {
      bytes: m.size,
      pieceLength: PIECE,
      infoHashes: m.hashes,
      versions: { mktorrent: mktorrentVersion, 'create-torrent': skip['create-torrent'] ? undefined : anchorVersion('create-torrent') },
      raw: m.raw,
    },
  });
  const [oneGiB, fourGiB] = runs as [SizeRun, SizeRun];
  // The mktorrent target is held on 4 GiB (spawn to exit); on 1 GiB it is information.
  return [row(fourGiB, 'mktorrent', 0.9), row(oneGiB, 'mktorrent', undefined), row(oneGiB, 'create-torrent', 2)];
}

export const scenario: Scenario = {
  name: 'torrent-create',
  description: '.torrent of a 4 GiB and a 1 GiB file in the page cache (1 MiB pieces): ours vs mktorrent -t 2 and create-torrent',
  run,
};
export default scenario;
