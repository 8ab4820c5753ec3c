/**
 * Helpers shared by the benchmark scenarios (processes, /proc readings, HTTP, files); the anchors
 * compared against are in anchors.ts.
 * swarm-aggregation.ts predates this module and keeps its own copies.
 */
import http from 'node:http';
import { execFile, execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, freePort, runProgram, runCli, startTracker, type Proc } from '../harness/procs.ts';

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const HERE = path.dirname(fileURLToPath(import.meta.url));
export { ROOT };

export const r2 = (x: number) => Math.round(x * 100) / 100;
export const r3 = (x: number) => Math.round(x * 1000) / 1000;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- processes ----

/** Run a program to completion; rejects on a non-zero exit. */
export function run(argv: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { cwd: opts.cwd, timeout: opts.timeoutMs ?? 600_000, maxBuffer: 64 * MiB }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')}: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** One of our compiled programs, optionally with node flags (e.g. --cpu-prof). */
export function runOurs(entry: 'tracker' | 'seeder' | 'requester', args: string[], opts: { cwd: string; nodeArgs?: string[] }): Proc {
  return runCli(entry, args, { cwd: opts.cwd, nodeArgs: opts.nodeArgs });
}

/**
 * Our tracker and one seeder of `source` (in its own folder under `dir`, `--no-web-seed`, its
 * torrent copied to `dir/torrents`), both added to `all`; resolves once the seeder serves.
 */
export async function startTrackerAndSeeder(
  dir: string,
  source: string,
  opts: { interval: number; seederArgs?: string[]; all: Set<Proc> },
): Promise<{ tracker: { port: number; announce: string; proc: Proc }; seeder: Proc; seederPort: number; infoHash: string; torrent: string }> {
  const tracker = await startTracker(dir, ['--interval', String(opts.interval)]);
  opts.all.add(tracker.proc);
  const seederPort = await freePort();
  const seeder = runOurs(
    'seeder',
    [source, '--port', String(seederPort), '--tracker', tracker.announce, '--dir', path.dirname(source), '--requester-dir', path.join(dir, 'torrents'), ...(opts.seederArgs ?? []), '--no-web-seed'],
    { cwd: dir },
  );
  opts.all.add(seeder);
  const [, infoHash] = (await seeder.waitFor(/Info hash: ([0-9a-f]{40})/, 120_000)) as RegExpMatchArray & [string, string];
  await seeder.waitFor(/\* Running on http:\/\//, 30_000);
  return { tracker, seeder, seederPort, infoHash, torrent: path.join(dir, 'torrents', `${path.basename(source)}.torrent`) };
}

/** SIGTERM (our programs announce `stopped` and exit), SIGKILL if that takes too long. */
export async function stop(proc: Proc | undefined, graceMs = 5000): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** Every stdout line of a process with the time it arrived (performance.now()). */
export function timeLines(proc: Proc): Array<{ t: number; line: string }> {
  const lines: Array<{ t: number; line: string }> = [];
  let pending = '';
  proc.child.stdout!.on('data', (d: Buffer) => {
    const t = performance.now();
    pending += d.toString();
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      lines.push({ t, line: pending.slice(0, i) });
      pending = pending.slice(i + 1);
    }
  });
  return lines;
}

/**
 * Run `argv` under bash, which reports the program's own pid (so that it can be watched and
 * stopped by pid) and, at its exit, the CPU time of the program (bash's `times`: user and
 * system seconds of its waited-for children).
 */
export interface TimedProc {
  proc: Proc;
  /** The program's pid (not bash's). */
  pid: Promise<number>;
  /** Exit code and CPU seconds, once it exited. */
  done: Promise<{ code: number | null; user: number; sys: number }>;
  kill(signal?: NodeJS.Signals): void;
}

const TIMES_SCRIPT = '"$@" & pid=$!; echo "@@pid $pid" >&2; trap \'kill -TERM $pid 2>/dev/null\' TERM; wait $pid; rc=$?; wait $pid 2>/dev/null; times >&2; exit $rc';

export function runTimed(label: string, argv: string[], opts: { cwd: string }): TimedProc {
  const proc = runProgram(label, ['bash', '-c', TIMES_SCRIPT, 'bash', ...argv], opts);
  const pid = proc.waitFor(/@@pid (\d+)/, 30_000).then((m) => Number(m[1]));
  let childPid: number | undefined;
  void pid.then((p) => (childPid = p), () => undefined);
  const done = proc.exited.then((code) => {
    // times prints two lines: the shell's own, then its children's ("0m1.234s 0m0.567s").
    const lines = proc.err().trim().split('\n').filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l.trim()));
    const last = lines.at(-1);
    const secs = (s: string) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(s)!;
      return Number(m[1]) * 60 + Number(m[2]);
    };
    const [u, s] = last ? last.trim().split(' ') : ['0m0s', '0m0s'];
    return { code, user: last ? secs(u!) : NaN, sys: last ? secs(s!) : NaN };
  });
  return {
    proc,
    pid,
    done,
    kill: (signal = 'SIGTERM') => {
      if (childPid !== undefined) {
        try {
          process.kill(childPid, signal);
        } catch {
          // already gone
        }
      }
      proc.kill(signal);
    },
  };
}

// ---- /proc ----

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of a live process, in seconds (/proc/<pid>/stat fields 14 and 15). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14 -> index 11, stime field 15 -> index 12.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** A `Vm*` line of /proc/<pid>/status in KiB (NaN when the process is gone). */
export function statusKiB(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Poll VmHWM every `everyMs` until stopped; the highest value seen, in KiB. */
export function watchPeak(pid: number, everyMs = 50): { stop(): number } {
  let peak = 0;
  const poll = () => {
    const v = statusKiB(pid, 'VmHWM');
    if (Number.isFinite(v)) peak = Math.max(peak, v);
  };
  poll();
  const timer = setInterval(poll, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      poll();
      return peak;
    },
  };
}

// ---- HTTP ----

const noKeepAlive = new http.Agent({ keepAlive: false });

/** One GET on a fresh connection: status and body. */
export function get(url: string, timeoutMs = 5000): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: noKeepAlive, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}

export async function getJson(url: string): Promise<unknown> {
  const res = await get(url);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return JSON.parse(res.body.toString('utf8'));
}

/** Wait until the tracker lists exactly the peers on `ports` for `infoHashHex` (our /peers). */
export async function expectPeers(trackerPort: number, infoHashHex: string, ports: number[], timeoutMs = 20_000): Promise<void> {
  const want = [...ports].sort((a, b) => a - b).join(',');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await getJson(`http://127.0.0.1:${trackerPort}/peers?info_hash=${infoHashHex}`)) as { peers: Array<{ port: number }> };
    const got = body.peers.map((p) => p.port).sort((a, b) => a - b).join(',');
    if (got === want) return;
    if (Date.now() > deadline) throw new Error(`tracker should list [${want}] for ${infoHashHex}, lists [${got}]`);
    await sleep(200);
  }
}

// ---- files ----

export async function writeRandomFile(file: string, size: number): Promise<void> {
  const out = createWriteStream(file);
  const chunk = Buffer.allocUnsafe(4 * MiB);
  for (let done = 0; done < size; ) {
    const n = Math.min(chunk.length, size - done);
    randomFillSync(chunk, 0, n);
    if (!out.write(Buffer.from(chunk.subarray(0, n)))) await once(out, 'drain');
    done += n;
  }
  out.end();
  await once(out, 'finish');
}

/** Read a file once so that it is in the page cache. */
export async function readThrough(file: string): Promise<void> {
  for await (const _ of createReadStream(file, { highWaterMark: 4 * MiB })) {
    // discard
  }
}

/** Flush dirty pages (of earlier runs) so that they are not charged to the next one. */
export async function syncAll(): Promise<void> {
  await run(['sync']);
}

/** Are two files byte-identical? (cmp, outside any timing) */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  try {
    await run(['cmp', '-s', a, b]);
    return true;
  } catch {
    return false;
  }
}

/** A port taken between freePort() and the child's listen(). */
export const PORT_RACE = /EADDRINUSE/;
