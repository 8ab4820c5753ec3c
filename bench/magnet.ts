/**
 * magnet: from a magnet link alone to the first verified piece, and to the whole 64 MiB file on
 * disk, ours against aria2c, both from the same seeder of ours in the same run. One tracker
 * (`--interval 2`) and one seeder (`--no-web-seed`, 256 KiB pieces) for all rounds; the magnet is
 * the one the seeder prints (xt, dn, tr). Each round, alternating who goes first:
 *  - ours: `requester '<magnet>' --no-seed`; first verified piece = the first moment its own
 *    `/bitfield/<hash>` (served while it downloads) shows a piece, polled every 20 ms; whole file =
 *    its `File downloaded:` line (fsynced and renamed by then);
 *  - aria2c: the magnet, DHT/LPD/PEX off, `--seed-time=0`, with its JSON-RPC on, polled every
 *    20 ms: first verified piece = the data download's bitfield shows a piece; whole file = its
 *    status is `complete`, then `sync -f`.
 * Both times count from the spawn. Target: ours <= 1.0 x aria2c for each.
 */
import path from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { freePort, type Proc } from '../harness/procs.ts';
import { missingProgram, programVersion } from './anchors.ts';
import { median, type RoundResult, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenario.ts';
import { MiB, get, r3, run as runToEnd, runOurs, sameBytes, sleep, startTrackerAndSeeder, stop, syncAll, timeLines, writeRandomFile } from './support.ts';
import { runProgram } from '../harness/procs.ts';

const SIZE = 64 * MiB;
const NAME = 'magnet-64MiB.bin';
const POLL_MS = 20;

interface Timing {
  firstPiece: number;
  whole: number;
  /** Ours: seconds to each line it printed (where the time went). */
  lines?: Array<[number, string]>;
}

/** Poll `probe` every POLL_MS until it is true; resolves with the time it first was (performance.now()). */
async function firstTrue(probe: () => Promise<boolean>, until: Promise<unknown>): Promise<number> {
  let over = false;
  void until.finally(() => (over = true));
  while (!over) {
    if (await probe().catch(() => false)) return performance.now();
    await sleep(POLL_MS);
  }
  throw new Error('finished before the first piece was seen');
}

async function ours(magnet: string, infoHash: string, outDir: string, all: Set<Proc>): Promise<Timing> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = runOurs('requester', [magnet, '--no-seed', '--port', String(port), '--out', outDir, '--wait', '60'], { cwd: outDir });
  all.add(proc);
  const lines = timeLines(proc);
  const bitfield = () => get(`http://127.0.0.1:${port}/bitfield/${infoHash}`, 1000).then((r) => r.status === 200 && r.body.some((b) => b !== 0));
  const first = await firstTrue(bitfield, proc.exited);
  const code = await proc.exited;
  all.delete(proc);
  if (code !== 0) throw new Error(`requester exited ${code}: ${proc.err().slice(-1000)}`);
  const done = lines.find((l) => l.line.startsWith('File downloaded: '));
  if (!done) throw new Error(`requester printed no File downloaded line:\n${proc.out().slice(-1000)}`);
  const at = (t: number) => r3((t - t0) / 1000);
  return { firstPiece: (first - t0) / 1000, whole: (done.t - t0) / 1000, lines: lines.filter((l) => !l.line.startsWith('Progress')).map((l) => [at(l.t), l.line.slice(0, 80)]) };
}

async function aria2Rpc(port: number, method: string, params: unknown[] = []): Promise<unknown> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  const r = await fetch(`http://127.0.0.1:${port}/jsonrpc`, { method: 'POST', body, signal: AbortSignal.timeout(1000) });
  return ((await r.json()) as { result: unknown }).result;
}

type Aria2Download = { bitfield?: string; totalLength: string; status: string };

/** The 64 MiB download (not aria2c's metadata download, a tiny torrent of its own), active or stopped. */
async function aria2Data(rpc: number): Promise<Aria2Download | undefined> {
  const active = (await aria2Rpc(rpc, 'aria2.tellActive')) as Aria2Download[];
  const stopped = (await aria2Rpc(rpc, 'aria2.tellStopped', [0, 10])) as Aria2Download[];
  return [...active, ...stopped].find((d) => Number(d.totalLength) === SIZE);
}

/** aria2c with its JSON-RPC on (it then stays up after the download: shut down over RPC once complete). */
async function aria2(magnet: string, outDir: string, all: Set<Proc>): Promise<Timing> {
  const [listen, rpc] = [await freePort(), await freePort()];
  const argv = ['aria2c', '--no-conf', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--summary-interval=0',
    '--console-log-level=warn', '--seed-time=0', '--file-allocation=none', '--enable-rpc', `--rpc-listen-port=${rpc}`, `--listen-port=${listen}`, '-d', outDir, magnet];
  const t0 = performance.now();
  const proc = runProgram('aria2c', argv, { cwd: outDir });
  all.add(proc);
  try {
    const first = await firstTrue(async () => /[1-9a-f]/.test((await aria2Data(rpc))?.bitfield ?? ''), proc.exited);
    const complete = await firstTrue(async () => (await aria2Data(rpc))?.status === 'complete', proc.exited);
    await runToEnd(['sync', '-f', path.join(outDir, NAME)]);
    const whole = performance.now();
    await aria2Rpc(rpc, 'aria2.forceShutdown').catch(() => undefined);
    void complete;
    return { firstPiece: (first - t0) / 1000, whole: (whole - t0) / 1000 };
  } finally {
    await stop(proc);
    all.delete(proc);
  }
}

async function run(opts: ScenarioOptions): Promise<ScenarioResult[]> {
  const { log } = opts;
  const skipped = missingProgram('aria2c', 'aria2');
  const rows = (rounds: RoundResult[][], notes: string[] = []): ScenarioResult[] => [
    { label: 'magnet -> first verified piece', ours: 'requester <magnet>', anchor: 'aria2c <magnet>', unit: 's', target: { op: '<=', value: 1.0 }, rounds: rounds[0] ?? [], skipped, notes },
    { label: 'magnet -> whole 64 MiB on disk', ours: 'requester <magnet>', anchor: 'aria2c <magnet> + sync', unit: 's', target: { op: '<=', value: 1.0 }, rounds: rounds[1] ?? [], skipped },
  ];
  if (skipped) return rows([]);
  const all = new Set<Proc>();
  const tmp = path.join((await import('node:os')).tmpdir(), `p2p-bench-magnet-${process.pid}`);
  const firsts: RoundResult[] = [];
  const wholes: RoundResult[] = [];
  try {
    const seedDir = path.join(tmp, 'seeder');
    await mkdir(seedDir, { recursive: true });
    const source = path.join(seedDir, NAME);
    await writeRandomFile(source, SIZE);
    const { seeder, infoHash } = await startTrackerAndSeeder(tmp, source, { interval: 2, seederArgs: ['--piece-length', '256K'], all });
    const magnet = (await seeder.waitFor(/^Magnet link: (magnet:\S+)$/m, 10_000))[1]!;
    log(`seeder of ${NAME}, magnet ${magnet}`);
    for (let r = 1; r <= opts.rounds; r++) {
      const order = r % 2 ? (['aria2c', 'ours'] as const) : (['ours', 'aria2c'] as const);
      const t: Partial<Record<'ours' | 'aria2c', Timing>> = {};
      for (const who of order) {
        const outDir = path.join(tmp, `r${r}-${who}`);
        await mkdir(outDir, { recursive: true });
        await syncAll();
        t[who] = who === 'ours' ? await ours(magnet, infoHash, outDir, all) : await aria2(magnet, outDir, all);
        if (!(await sameBytes(path.join(outDir, NAME), source))) throw new Error(`round ${r}: ${who}'s file differs from the source`);
        await rm(outDir, { recursive: true, force: true });
      }
      firsts.push({ ours: r3(t.ours!.firstPiece), anchor: r3(t.aria2c!.firstPiece), detail: { oursLines: t.ours!.lines } });
      wholes.push({ ours: r3(t.ours!.whole), anchor: r3(t.aria2c!.whole) });
      log(`round ${r}/${opts.rounds}: first piece ours ${t.ours!.firstPiece.toFixed(3)} s, aria2c ${t.aria2c!.firstPiece.toFixed(3)} s; whole ours ${t.ours!.whole.toFixed(3)} s, aria2c ${t.aria2c!.whole.toFixed(3)} s`);
    }
  } finally {
    await Promise.all([...all].map((p) => stop(p)));
    await rm(tmp, { recursive: true, force: true });
  }
  const m = (xs: RoundResult[], k: 'ours' | 'anchor') => median(xs.map((x) => x[k])).toFixed(3);
  const notes = [
    `64 MiB random file, our seeder --no-web-seed --piece-length 256K, our tracker --interval 2; times from spawn (medians: first piece ours ${m(firsts, 'ours')} s, aria2c ${m(firsts, 'anchor')} s; whole file ours ${m(wholes, 'ours')} s, aria2c ${m(wholes, 'anchor')} s); ${programVersion(['aria2c', '--version'])}`,
  ];
  return rows([firsts, wholes], notes);
}

export const scenario: Scenario = {
  name: 'magnet',
  description: 'a magnet link to the first verified piece and to the whole 64 MiB file: our requester vs aria2c, same seeder',
  run,
};
export default scenario;
