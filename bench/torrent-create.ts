/**
 * torrent-create: hashing a 1 GiB file (in the page cache) into a .torrent with 1 MiB pieces.
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
import { tempDir } from '../test/support/procs.ts';
import { parseMetainfo } from '../src/metainfo/metainfo.ts';
import { median, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenario.ts';
import { GiB, HERE, MiB, anchorVersion, missingProgram, npmAnchor, programVersion, r3, readThrough, run as runToEnd, writeRandomFile } from './support.ts';

const SIZE = GiB;
const PIECE = MiB;
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

async function run(opts: ScenarioOptions): Promise<ScenarioResult[]> {
  const { log } = opts;
  const skip: Partial<Record<Kind, string>> = {
    mktorrent: missingProgram('mktorrent', 'mktorrent'),
    'create-torrent': await npmAnchor('create-torrent', log),
  };
  for (const [k, why] of Object.entries(skip)) if (why) log(`SKIPPED ${k}: ${why}`);
  const kinds = (['mktorrent', 'create-torrent', 'ours'] as Kind[]).filter((k) => !skip[k]);
  const gbps: Record<Kind, number[]> = { ours: [], mktorrent: [], 'create-torrent': [] };
  const raw: Record<Kind, unknown[]> = { ours: [], mktorrent: [], 'create-torrent': [] };
  const hashes: Record<string, string> = {};
  const tmp = await tempDir('p2p-bench-create-');
  try {
    const source = path.join(tmp.dir, 'create-1GiB.bin');
    log(`generating ${SIZE / GiB} GiB of random data in ${tmp.dir}, then reading it once (page cache)`);
    await writeRandomFile(source, SIZE);
    await readThrough(source);
    for (let r = 1; r <= opts.rounds; r++) {
      for (const kind of kinds) {
        const out = path.join(tmp.dir, `${kind}.torrent`);
        const res = await createOnce(kind, source, out);
        const h = await infoHash(out);
        hashes[kind] = h;
        if (kind === 'ours' && hashes['mktorrent'] && h !== hashes['mktorrent']) {
          throw new Error(`our info_hash ${h} differs from mktorrent's ${hashes['mktorrent']} (same file, 1 MiB pieces)`);
        }
        const rate = SIZE / 1e9 / res.seconds;
        gbps[kind].push(r3(rate));
        raw[kind].push({ seconds: r3(res.seconds), ...(res.inProcess ? { importSeconds: r3(res.inProcess.importSeconds), createSeconds: r3(res.inProcess.createSeconds) } : {}) });
        log(`round ${r}/${opts.rounds} ${kind.padEnd(14)} ${rate.toFixed(3)} GB/s (${res.seconds.toFixed(2)} s spawn to exit${res.inProcess ? `; in process: import ${res.inProcess.importSeconds.toFixed(3)} s, create ${res.inProcess.createSeconds.toFixed(2)} s` : ''})`);
      }
    }
  } finally {
    await tmp.remove();
  }
  const inProc = (k: Kind) => median((raw[k] as Array<{ createSeconds?: number }>).map((x) => x.createSeconds ?? NaN));
  const notes = [
    `1 GiB random file read once before (page cache), 1 MiB pieces; spawn-to-exit time; info_hash: ours ${hashes['ours'] ?? '-'}, mktorrent ${hashes['mktorrent'] ?? '-'}${hashes['ours'] && hashes['ours'] === hashes['mktorrent'] ? ' (equal)' : ''}, create-torrent ${hashes['create-torrent'] ?? '-'}${hashes['create-torrent'] && hashes['create-torrent'] === hashes['mktorrent'] ? ' (equal)' : ''}`,
    `in-process creation time only (no node start-up / import): ours ${inProc('ours').toFixed(2)} s = ${(SIZE / 1e9 / inProc('ours')).toFixed(3)} GB/s, create-torrent ${inProc('create-torrent').toFixed(2)} s`,
  ];
  const detail = {
    bytes: SIZE,
    pieceLength: PIECE,
    infoHashes: hashes,
    versions: { mktorrent: skip.mktorrent ? undefined : programVersion(['dpkg-query', '-W', '-f', '${Version}', 'mktorrent']), 'create-torrent': skip['create-torrent'] ? undefined : anchorVersion('create-torrent') },
    raw,
  };
  const row = (anchor: Exclude<Kind, 'ours'>, label: string, value: number): ScenarioResult => ({
    label,
    ours: 'makeTorrent (worker threads)',
    anchor: anchor === 'mktorrent' ? 'mktorrent -t 2 -l 20' : 'create-torrent (1 MiB pieces)',
    unit: 'GB/s',
    target: { op: '>=', value },
    rounds: gbps.ours.map((o, i) => ({ ours: o, anchor: gbps[anchor][i] ?? NaN, detail: { ours: raw.ours[i], anchor: raw[anchor][i] } })),
    skipped: skip[anchor],
  });
  const rows = [row('mktorrent', '1 GiB vs mktorrent', 1.0), row('create-torrent', '1 GiB vs create-torrent', 2)];
  rows[0]!.notes = notes;
  rows[0]!.detail = detail;
  return rows;
}

export const scenario: Scenario = {
  name: 'torrent-create',
  description: '.torrent of a 1 GiB file in the page cache (1 MiB pieces): ours vs mktorrent -t 2 and create-torrent',
  run,
};
export default scenario;
