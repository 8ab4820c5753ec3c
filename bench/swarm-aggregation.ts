/**
 * Swarm aggregation: does a requester add up the upload caps of several seeders?
 *
 * One 64 MiB random file, one tracker (`--interval 2`), seeders of that file with the same
 * `--piece-length 256K` (same info_hash), each capped with `--max-upload-rate 8M`.
 *   anchor: a requester downloading while the tracker lists exactly ONE seeder (S0);
 *   ours:   a requester downloading while the tracker lists all FOUR seeders (S0..S3).
 * Seeders run with `--no-web-seed`, so the requester's only sources are the peers the tracker
 * lists (it fetches from our own peers over their HTTP piece API). S0 runs for the whole scenario; S1..S3 are started before each "ours" run and stopped (SIGTERM,
 * which announces `stopped`) right after it. Before every run the tracker's /peers list is checked
 * to hold exactly the expected seeders, and the requester's own "Found N seeder(s)" and
 * "Downloading ... from Seeder" lines are checked too, so the anchor really had one source.
 *
 * The rate is 64 MiB / (wall time from spawning the requester to its `File downloaded:` line),
 * so it includes the requester's start-up (node + tsx, announce, bitfields) and final fsync.
 * The transfer-only time (from its "Found N seeder(s)" line) is kept per round as a diagnostic.
 */
import { copyFile, link, mkdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli, freePort, tempDir, startTracker, type Proc } from '../harness/procs.ts';
import { median, type RoundResult, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenario.ts';
import { MiB, getJson, stop, timeLines, writeRandomFile } from './support.ts';

const FILE_SIZE = 64 * MiB;
const FILE_NAME = 'swarm-64MiB.bin';
const SEEDERS = 4;
const RATE = '8M';
const RATE_BYTES = 8 * MiB;
const PIECE_LENGTH = '256K';
const TARGET = 3.2;

interface Seeder {
  index: number;
  port: number;
  proc: Proc;
  infoHash: string;
  torrent: string;
}

/** Per-run context shared by the helpers below. */
interface Ctx {
  root: string;
  source: string;
  announce: string;
  trackerPort: number;
  infoHash?: string;
  all: Set<Proc>;
}

/** A port taken between freePort() and the child's listen() (other processes, outgoing sockets). */
const PORT_RACE = /cannot listen on .*EADDRINUSE/;
const PORT_TRIES = 5;

async function startSeeder(ctx: Ctx, index: number): Promise<Seeder> {
  const home = path.join(ctx.root, `seeder${index}`);
  const dataDir = path.join(home, 'data');
  await mkdir(dataDir, { recursive: true });
  // The seeder shares its own copy in --dir: a hard link to the one generated file (same bytes,
  // no 64 MiB copy per seeder); the seeder sees source == destination and copies nothing.
  const data = path.join(dataDir, FILE_NAME);
  if (!(await stat(data).catch(() => null))) await link(ctx.source, data).catch(() => copyFile(ctx.source, data));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const proc = runCli(
      'seeder',
      [
        data,
        '--port', String(port),
        '--tracker', ctx.announce,
        '--piece-length', PIECE_LENGTH,
        '--dir', dataDir,
        '--requester-dir', path.join(home, 'requester'),
        '--max-upload-rate', RATE,
        // No url-list in the torrent: a web seed would be a second source on the same seeder (and
        // would hide the requester's "Found N seeder(s)" line). The sources are what the tracker lists.
        '--no-web-seed',
      ],
      { cwd: home }, // each seeder writes its <name>.torrent in its own working folder
    );
    ctx.all.add(proc);
    void proc.exited.then(() => ctx.all.delete(proc));
    try {
      const [, infoHash] = (await proc.waitFor(/Info hash: ([0-9a-f]{40})/, 60_000)) as RegExpMatchArray & [string, string];
      await proc.waitFor(/\* Running on http:\/\//, 30_000);
      if (!/Successfully registered with tracker\./.test(proc.out())) throw new Error(`seeder ${index} did not register:\n${proc.out()}${proc.err()}`);
      if (ctx.infoHash && infoHash !== ctx.infoHash) throw new Error(`seeder ${index} has info_hash ${infoHash}, seeder 0 has ${ctx.infoHash}`);
      return { index, port, proc, infoHash, torrent: path.join(home, 'requester', `${FILE_NAME}.torrent`) };
    } catch (e) {
      await stop(proc);
      if (attempt < PORT_TRIES && PORT_RACE.test(proc.err())) continue;
      throw e;
    }
  }
}

/** Wait until the tracker lists exactly the seeders on `ports` (and no one else) for the torrent. */
async function expectSwarm(ctx: Ctx, ports: number[], timeoutMs = 15_000): Promise<void> {
  const want = [...ports].sort((a, b) => a - b).join(',');
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  for (;;) {
    const body = (await getJson(`http://127.0.0.1:${ctx.trackerPort}/peers?info_hash=${ctx.infoHash}`)) as {
      peers: Array<{ port: number; seeder: boolean }>;
    };
    const got = body.peers.filter((p) => p.seeder).map((p) => p.port).sort((a, b) => a - b).join(',');
    seen = `${body.peers.length} peer(s): ${body.peers.map((p) => `${p.port}${p.seeder ? '' : '(leecher)'}`).join(', ')}`;
    if (got === want && body.peers.length === ports.length) return;
    if (Date.now() > deadline) throw new Error(`tracker should list seeders [${want}], lists ${seen}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function uploadedBy(port: number): Promise<number> {
  const s = (await getJson(`http://127.0.0.1:${port}/stats`)) as { uploaded: number };
  return s.uploaded;
}

interface Download {
  /** MiB/s over the whole wall time. */
  rate: number;
  seconds: number;
  /** Spawn to the first line ("Retrieved info_hash"): node + tsx + module loading. */
  processSeconds: number;
  /** Spawn to the "Found N seeder(s)" line: process start, torrent, first announce. */
  startupSeconds: number;
  /** "File downloaded:" to process exit (announce completed/stopped, close). */
  exitSeconds: number;
  /** "Found N seeder(s)" to "File downloaded:". */
  transferSeconds: number;
  /** MiB/s over the transfer part only. */
  transferRate: number;
  sources: string[];
}

/** Run one requester into a fresh folder and time it; checks it used exactly `expected` sources. */
async function download(ctx: Ctx, torrent: string, run: string, expected: Seeder[]): Promise<Download> {
  const outDir = path.join(ctx.root, 'runs', run);
  await mkdir(outDir, { recursive: true });
  let t0: number;
  let proc: Proc;
  let lines: Array<{ t: number; line: string }>;
  let tExit = NaN;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    t0 = performance.now();
    proc = runCli('requester', [torrent, '--no-seed', '--port', String(port), '--out', outDir], { cwd: outDir });
    ctx.all.add(proc);
    lines = timeLines(proc);
    try {
      await proc.waitFor(/File downloaded: /, 300_000);
      const code = await proc.exited;
      tExit = performance.now();
      if (code !== 0) throw new Error(`requester exited ${code}:\n${proc.out()}${proc.err()}`);
      break;
    } catch (e) {
      if (attempt < PORT_TRIES && PORT_RACE.test(proc.err())) {
        // It created its .part before failing to listen: start the retry from an empty folder.
        await rm(outDir, { recursive: true, force: true });
        await mkdir(outDir, { recursive: true });
        continue;
      }
      throw e;
    } finally {
      await stop(proc);
      ctx.all.delete(proc);
    }
  }
  const at = (re: RegExp) => lines.find((l) => re.test(l.line));
  const first = lines[0];
  const found = at(/^Found \d+ seeder\(s\)/);
  const done = at(/^File downloaded: /);
  if (!first || !found || !done) throw new Error(`requester output lacks its Found/File downloaded lines:\n${proc.out()}`);
  const nFound = Number(/^Found (\d+)/.exec(found.line)![1]);
  const sources = lines.flatMap((l) => /from Seeder (\S+)/.exec(l.line)?.[1] ?? []).sort();
  const want = expected.map((s) => `127.0.0.1:${s.port}`).sort();
  if (nFound !== expected.length || sources.join() !== want.join()) {
    throw new Error(`requester should have used exactly ${want.join(', ')}; it found ${nFound} and used ${sources.join(', ') || 'none'}`);
  }
  // The requester verified every piece's SHA-1; check the result once more, outside the timing.
  const got = await readFile(path.join(outDir, FILE_NAME));
  if (got.length !== FILE_SIZE || !got.equals(await readFile(ctx.source))) throw new Error(`${run}: downloaded file differs from the source`);
  await rm(outDir, { recursive: true, force: true });
  const seconds = (done.t - t0) / 1000;
  const transferSeconds = (done.t - found.t) / 1000;
  return {
    rate: FILE_SIZE / MiB / seconds,
    seconds,
    processSeconds: (first.t - t0) / 1000,
    startupSeconds: (found.t - t0) / 1000,
    exitSeconds: (tExit - done.t) / 1000,
    transferSeconds,
    transferRate: FILE_SIZE / MiB / transferSeconds,
    sources,
  };
}

const r2 = (x: number) => Math.round(x * 100) / 100;

async function run(opts: ScenarioOptions): Promise<ScenarioResult> {
  const { log } = opts;
  const tmp = await tempDir('p2p-bench-swarm-');
  const ctx: Ctx = { root: tmp.dir, source: path.join(tmp.dir, FILE_NAME), announce: '', trackerPort: 0, all: new Set() };
  try {
    log(`generating ${FILE_SIZE / MiB} MiB of random data in ${tmp.dir}`);
    await writeRandomFile(ctx.source, FILE_SIZE);

    const tracker = await startTracker(tmp.dir, ['--interval', '2']);
    ctx.all.add(tracker.proc);
    ctx.announce = tracker.announce;
    ctx.trackerPort = tracker.port;

    const s0 = await startSeeder(ctx, 0);
    ctx.infoHash = s0.infoHash;
    log(`tracker on ${tracker.port}; seeder 0 on ${s0.port}, info_hash ${s0.infoHash}`);

    const rounds: RoundResult[] = [];
    const runsA: Download[] = [];
    const runsB: Download[] = [];
    const spreads: string[] = [];
    for (let r = 1; r <= opts.rounds; r++) {
      // A: the anchor, one seeder listed.
      await expectSwarm(ctx, [s0.port]);
      const loadA = os.loadavg()[0]!;
      const beforeA = await uploadedBy(s0.port);
      const a = await download(ctx, s0.torrent, `r${r}-A`, [s0]);
      const uploadedA = (await uploadedBy(s0.port)) - beforeA;
      log(`round ${r}/${opts.rounds} A (1 seeder):  ${a.rate.toFixed(2)} MiB/s  (${a.seconds.toFixed(2)} s; start-up ${a.startupSeconds.toFixed(2)} s of which process ${a.processSeconds.toFixed(2)} s, transfer ${a.transferSeconds.toFixed(2)} s = ${a.transferRate.toFixed(2)} MiB/s)`);

      // B: ours, four seeders listed.
      const extra = await Promise.all(Array.from({ length: SEEDERS - 1 }, (_, i) => startSeeder(ctx, i + 1)));
      const seeders = [s0, ...extra];
      let b: Download;
      const uploaded: Record<string, number> = {};
      const loadB = os.loadavg()[0]!;
      try {
        await expectSwarm(ctx, seeders.map((s) => s.port));
        const before = await Promise.all(seeders.map((s) => uploadedBy(s.port)));
        b = await download(ctx, s0.torrent, `r${r}-B`, seeders);
        const after = await Promise.all(seeders.map((s) => uploadedBy(s.port)));
        seeders.forEach((s, i) => (uploaded[`S${s.index}:${s.port}`] = after[i]! - before[i]!));
      } finally {
        await Promise.all(extra.map((s) => stop(s.proc)));
      }
      log(`round ${r}/${opts.rounds} B (4 seeders): ${b.rate.toFixed(2)} MiB/s  (${b.seconds.toFixed(2)} s; start-up ${b.startupSeconds.toFixed(2)} s of which process ${b.processSeconds.toFixed(2)} s, transfer ${b.transferSeconds.toFixed(2)} s = ${b.transferRate.toFixed(2)} MiB/s)`);
      const total = Object.values(uploaded).reduce((x, y) => x + y, 0);
      const spread = Object.entries(uploaded)
        .map(([k, v]) => `${k.split(':')[0]} ${(v / MiB).toFixed(1)} MiB (${((100 * v) / total).toFixed(0)}%)`)
        .join(', ');
      spreads.push(`round ${r} B, /stats uploaded per seeder: ${spread}; total ${(total / MiB).toFixed(1)} MiB`);
      log(`  ${spreads.at(-1)}`);

      runsA.push(a);
      runsB.push(b);
      rounds.push({
        anchor: r2(a.rate),
        ours: r2(b.rate),
        detail: {
          anchor: { loadavg1: r2(loadA), uploaded: uploadedA, seconds: r2(a.seconds), processSeconds: r2(a.processSeconds), startupSeconds: r2(a.startupSeconds), exitSeconds: r2(a.exitSeconds), transferSeconds: r2(a.transferSeconds), transferRate: r2(a.transferRate), sources: a.sources },
          ours: {
            loadavg1: r2(loadB),
            seconds: r2(b.seconds),
            processSeconds: r2(b.processSeconds),
            startupSeconds: r2(b.startupSeconds),
            exitSeconds: r2(b.exitSeconds),
            transferSeconds: r2(b.transferSeconds),
            transferRate: r2(b.transferRate),
            sources: b.sources,
            uploadedBySeeder: uploaded,
          },
        },
      });
    }

    const tA = median(runsA.map((x) => x.transferRate));
    const tB = median(runsB.map((x) => x.transferRate));
    const fA = median(runsA.map((x) => x.startupSeconds));
    const fB = median(runsB.map((x) => x.startupSeconds));
    const transferNote =
      `diagnostic, transfer only ("Found N seeder(s)" to "File downloaded:"): median ${tB.toFixed(2)} vs ${tA.toFixed(2)} MiB/s = ${(tB / tA).toFixed(2)}x; ` +
      `requester start-up (spawn to "Found"): median ${fA.toFixed(2)} s (A), ${fB.toFixed(2)} s (B)`;

    return {
      ours: '4 seeders @ 8M',
      anchor: '1 seeder @ 8M',
      unit: 'MiB/s',
      target: { op: '>=', value: TARGET },
      rounds,
      notes: [
        `64 MiB, piece length ${PIECE_LENGTH}, each seeder --max-upload-rate ${RATE} (cap ${RATE_BYTES / MiB} MiB/s; 4 x cap = ${(4 * RATE_BYTES) / MiB} MiB/s); rate = 64 MiB / wall time from requester spawn to "File downloaded:"`,
        transferNote,
        ...spreads,
      ],
      detail: { fileBytes: FILE_SIZE, pieceLength: PIECE_LENGTH, maxUploadRate: RATE, seeders: SEEDERS, trackerInterval: 2, infoHash: ctx.infoHash },
    };
  } finally {
    await Promise.all([...ctx.all].map((p) => stop(p)));
    await tmp.remove();
  }
}

export const scenario: Scenario = {
  name: 'swarm-aggregation',
  description: 'one requester, 4 seeders capped at 8 MiB/s each vs 1 such seeder',
  run,
};
export default scenario;
