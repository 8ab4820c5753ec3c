/**
 * What the wire benchmarks (wire-1g, wire-upload) share: a second torrent of the same info_hash
 * announcing to another tracker (so that an anchor's seeder and ours never meet in one swarm),
 * an aria2c seeder, which of our requester's wire flags this build has, and one timed download.
 */
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir, rm, stat, unlink } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { freePort, runProgram, type Proc } from '../harness/procs.ts';
import { ROOT, cpuSeconds, run as runToEnd, runTimed, sameBytes, syncAll } from './support.ts';

/**
 * The same torrent announcing to `announce` instead: only the `announce` string outside `info`
 * changes, so the info_hash (and every byte of `info`) stays. Torrents with an announce-list are
 * refused (ours have none: one tracker each).
 */
export async function retargetTorrent(from: string, to: string, announce: string): Promise<void> {
  const bytes = await readFile(from);
  const text = bytes.toString('latin1');
  if (text.includes('13:announce-list')) throw new Error(`${from} has an announce-list`);
  const m = /^d8:announce(\d+):/.exec(text);
  if (!m) throw new Error(`${from} does not start with its announce URL`);
  const start = m[0].length;
  const oldLength = Number(m[1]);
  const head = Buffer.from(`d8:announce${announce.length}:${announce}`, 'latin1');
  await writeFile(to, Buffer.concat([head, bytes.subarray(start + oldLength)]));
}

const ARIA2_COMMON = ['--no-conf', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--summary-interval=0', '--console-log-level=warn', '--bt-tracker-connect-timeout=5'];

/** aria2c downloading `torrent` into `outDir` (exits once done: `--seed-time=0`). */
export function aria2Download(torrent: string, outDir: string, listenPort: number): string[] {
  return ['aria2c', ...ARIA2_COMMON, '--seed-time=0', '--file-allocation=none', `--listen-port=${listenPort}`, '-d', outDir, torrent];
}

/**
 * aria2c seeding `torrent` from `dir` (which holds the file) until stopped, on `port`, without
 * hashing the file first (`--bt-seed-unverified`: the file is the source). Resolves once it runs.
 */
export async function startAria2Seeder(torrent: string, dir: string): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = runProgram('aria2c-seeder', ['aria2c', ...ARIA2_COMMON, '--seed-ratio=0.0', '--bt-seed-unverified=true', '--check-integrity=false', `--listen-port=${port}`, '-d', dir, torrent], { cwd: dir });
  // aria2c prints nothing useful at console-log-level=warn: it runs once its listen port answers.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`aria2c seeder exited ${proc.child.exitCode}: ${proc.err().slice(-500)}`);
    if (await portOpen(port)) return { proc, port };
    if (Date.now() > deadline) throw new Error('aria2c seeder did not listen within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function portOpen(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Wire flags our requester accepts in this build (from its --help): `--protocol`, `--transport`, `--encryption`. */
export function requesterFlags(): Set<string> {
  const help = execFileSync(process.execPath, [path.join(ROOT, 'dist', 'requester.js'), '--help'], { encoding: 'utf8' });
  return new Set(['--protocol', '--transport', '--encryption'].filter((f) => help.includes(f)));
}

export interface Timed {
  seconds: number;
  /** GB/s (10^9 bytes per second). */
  rate: number;
  /** CPU seconds (user + system) per GiB of the downloader, and of the seeder it downloaded from. */
  downloaderCpu: number;
  seederCpu: number;
}

/**
 * Run one download (`argv`, into `outDir`, which is emptied first) to its exit, then `sync -f`
 * unless it fsyncs itself; the file must equal `source`. The seeder's CPU is read from /proc
 * around it (`seederPid`).
 */
export async function timedDownload(
  label: string,
  argv: string[],
  o: { outDir: string; file: string; source: string; size: number; seederPid: number; syncAfter: boolean; all: Set<Proc>; timeoutMs?: number },
): Promise<Timed> {
  await rm(o.outDir, { recursive: true, force: true });
  await mkdir(o.outDir, { recursive: true });
  await syncAll();
  const out = path.join(o.outDir, o.file);
  const cpu0 = cpuSeconds(o.seederPid);
  const t0 = performance.now();
  const p = runTimed(label, argv, { cwd: o.outDir });
  o.all.add(p.proc);
  const timer = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 300_000);
  const done = await p.done;
  clearTimeout(timer);
  o.all.delete(p.proc);
  if (done.code !== 0) throw new Error(`${label} exited ${done.code}:\n${p.proc.out().slice(-2000)}\n${p.proc.err().slice(-2000)}`);
  if (o.syncAfter) await runToEnd(['sync', '-f', out]);
  const seconds = (performance.now() - t0) / 1000;
  const seederCpu = cpuSeconds(o.seederPid) - cpu0;
  if ((await stat(out)).size !== o.size || !(await sameBytes(out, o.source))) throw new Error(`${label}: ${out} differs from the source`);
  await unlink(out);
  const gib = o.size / 2 ** 30;
  return { seconds, rate: o.size / 1e9 / seconds, downloaderCpu: (done.user + done.sys) / gib, seederCpu: seederCpu / gib };
}

/** What the wire benchmarks use of harness/libtorrent.ts (issue #15's driver, loaded at run time). */
export interface LtHandle {
  proc: Proc;
  waitFor(match: (l: { event: string; state?: string }) => boolean, timeoutMs?: number, what?: string): Promise<unknown>;
  finished(timeoutMs: number): Promise<unknown>;
  stop(): Promise<unknown>;
}
export interface LtDriver {
  libtorrentMissing(): string | undefined;
  startLibtorrent(ns: string, config: Record<string, unknown>, opts?: { cwd?: string; label?: string }): Promise<LtHandle>;
}

/** The libtorrent driver, or why it cannot be used. */
export async function loadLibtorrent(): Promise<LtDriver | string> {
  const file = path.join(ROOT, 'harness', 'libtorrent.ts');
  if (!existsSync(file)) return 'harness/libtorrent.ts (the libtorrent driver of issue #15) is not in this build';
  const driver = (await import(pathToFileURL(file).href)) as LtDriver;
  return driver.libtorrentMissing() ?? driver;
}

/** libtorrent settings for a TCP-only peer, and for a uTP-only one. */
export const TCP_ONLY = { enable_outgoing_utp: false, enable_incoming_utp: false };
export const UTP_ONLY = { enable_outgoing_tcp: false, enable_incoming_tcp: false };

/** A libtorrent leecher of `torrent` (TCP only unless `transport` says otherwise), spawn to its `finished` line. */
export async function ltLeech(lt: LtDriver, ns: string, torrent: string, o: { outDir: string; file: string; source: string; size: number; seederPid: number; syncAfter?: boolean }, lts: Set<LtHandle>, transport: object = TCP_ONLY): Promise<Timed> {
  await rm(o.outDir, { recursive: true, force: true });
  await mkdir(o.outDir, { recursive: true });
  const cpu0 = cpuSeconds(o.seederPid);
  const t0 = performance.now();
  const leecher = await lt.startLibtorrent(ns, { role: 'leecher', torrent, save_path: o.outDir, ...transport }, { cwd: o.outDir, label: 'libtorrent leecher' });
  lts.add(leecher);
  try {
    await leecher.finished(300_000);
  } finally {
    lts.delete(leecher);
    await leecher.stop().catch(() => undefined);
  }
  const out = path.join(o.outDir, o.file);
  if (o.syncAfter) await runToEnd(['sync', '-f', out]);
  const seconds = (performance.now() - t0) / 1000;
  const seederCpu = cpuSeconds(o.seederPid) - cpu0;
  if ((await stat(out)).size !== o.size || !(await sameBytes(out, o.source))) throw new Error(`libtorrent leecher: ${out} differs from the source`);
  await rm(o.outDir, { recursive: true, force: true });
  const gib = o.size / 2 ** 30;
  return { seconds, rate: o.size / 1e9 / seconds, downloaderCpu: NaN, seederCpu: seederCpu / gib };
}
