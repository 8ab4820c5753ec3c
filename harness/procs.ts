/**
 * The process harness that test/ and bench/ share: spawn the compiled CLIs (or any program),
 * answer their prompts through stdin, wait for their lines, and kill every child still running
 * when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import dgram from 'node:dgram';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlagsFor } from '../src/cli/node-flags.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Newest modification time of any file under `dir` (0 if it does not exist). */
function newestMtime(dir: string): number {
  let newest = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) newest = Math.max(newest, statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs);
    }
  } catch {
    return 0;
  }
  return newest;
}

// Tests and benchmarks run the compiled programs. `npm test` / `npm run bench` build them first; a
// test file run on its own (node --test test/x.test.ts) rebuilds them here when src/ is newer.
if (newestMtime(path.join(ROOT, 'src')) > newestMtime(path.join(ROOT, 'dist'))) {
  for (const config of ['tsconfig.build.json', 'tsconfig.web.json']) {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, config)], { stdio: 'inherit' });
  }
}

export interface Proc {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  out(): string;
  err(): string;
  /** Resolve when stdout+stderr contain a line matching `re` (or reject after `timeoutMs`). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolve with the exit code (signal exits give null). */
  exited: Promise<number | null>;
  write(text: string): void;
  kill(signal?: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * Run the compiled program `dist/<entry>.js` with the node options of its npm script (what
 * `npm run <entry>` runs; `npm test` builds it first) with node directly, so the pid is the
 * program itself (its /proc/<pid>/status is the program's memory).
 */
export function runCli(entry: 'tracker' | 'seeder' | 'requester' | 'demo', args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; netns?: string; nodeArgs?: string[] }): Proc {
  const argv = [process.execPath, ...nodeFlagsFor(ROOT, entry), ...(opts.nodeArgs ?? []), path.join(ROOT, 'dist', `${entry}.js`), ...args, ...noPublicDht(entry, args)];
  return runProgram(entry, opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv, opts);
}

/**
 * Peers join the public DHT by default: tests and benchmarks must never reach it, so a seeder or
 * requester started here without a DHT flag of its own (`--dht-bootstrap` to local nodes) gets `--no-dht`.
 */
function noPublicDht(entry: string, args: string[]): string[] {
  if (entry !== 'seeder' && entry !== 'requester') return [];
  return args.some((a) => /^--(no-)?dht(-bootstrap)?(=|$)/.test(a)) ? [] : ['--no-dht'];
}

/**
 * Run any program (e.g. a real BitTorrent client). `ip netns exec` execs the program in place,
 * so a netns run keeps the program's own pid.
 */
export function runProgram(label: string, argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Proc {
  const entry = label;
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, NODE_OPTIONS: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      live.delete(child);
      for (const l of listeners) l();
      resolve(code);
    }),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    write: (text) => child.stdin!.write(text),
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitFor(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = (out + '\n' + err).match(re);
          if (m) {
            cleanup();
            resolve(m);
          } else if (hasExited || child.exitCode !== null) {
            cleanup();
            reject(new Error(`${entry} exited (${child.exitCode}) before ${re}\nstdout:\n${out}\nstderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${re} from ${entry}\nstdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/**
 * A port that was free a moment ago on 127.0.0.1, for TCP and UDP both: the tracker (BEP 15) and
 * the peers (uTP) listen on both with one number.
 *
 * Drawn at random below Linux's ephemeral range (32768-60999): the kernel never gives those out
 * for a bind to port 0 or an outgoing connection, so a port probed free stays free until the
 * program binds it. An ephemeral number did not: a requester once lost its DHT port to another
 * program's UDP socket between the probe and its bind (EADDRINUSE).
 *
 * Ports handed out by freePort in this process are not handed out again: a port is free only
 * where it was probed, and a program started in a network namespace leaves it free here.
 */
const PORTS = { first: 16384, count: 16384 };
const handedOut = new Set<number>();

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = PORTS.first + Math.floor(Math.random() * PORTS.count);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if ((await tcpFree(host, port)) && (await udpFree(host, port))) return port;
  }
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A fresh temporary folder, removed by the returned function. */
export async function tempDir(prefix = 'p2p-test-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Start a tracker on a free port; resolves once it prints its Running line. */
export async function startTracker(cwd: string, extra: string[] = [], netns?: string): Promise<{ proc: Proc; port: number; announce: string }> {
  const port = await freePort();
  const proc = runCli('tracker', ['--port', String(port), ...extra], { cwd, netns });
  await proc.waitFor(/\* Running on http:\/\/127\.0\.0\.1:\d+/);
  return { proc, port, announce: `http://127.0.0.1:${port}/announce` };
}

/** The full path of `program` on PATH, or undefined when it is not installed. */
export function which(program: string): string | undefined {
  for (const d of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const p = path.join(d, program);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Undefined when `program` is installed, else the reason to print (with the apt-get line). */
export function missingProgram(program: string, debianPackage: string): string | undefined {
  return which(program) ? undefined : `${program} not installed: apt-get install -y ${debianPackage}`;
}
