/**
 * A real `redis-server` for tests and benchmarks: on a free loopback port, in a temporary folder,
 * with persistence off (`--save ''`, `--appendonly no`), so every start is empty. It can be
 * stopped (SIGTERM), killed (SIGKILL) and started again on the same port: what the fault tests
 * need to play "Redis lost mid-run, then back, empty".
 */
import { freePort, missingProgram, runProgram, tempDir, type Proc } from './procs.ts';

export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:PORT` */
  url: string;
  /** The running server's process (undefined while stopped). */
  proc(): Proc | undefined;
  /** SIGTERM, and wait for it to exit. */
  stop(): Promise<void>;
  /** SIGKILL, and wait for it to exit. */
  kill(): Promise<void>;
  /** Start again on the same port, empty. */
  start(): Promise<void>;
  /** Stop it and remove its folder. */
  close(): Promise<void>;
}

/** Undefined when redis-server is installed, else the reason to print (with the apt-get line). */
export function redisMissing(): string | undefined {
  return missingProgram('redis-server', 'redis-server');
}

/** Start a redis-server on a free port; resolves once it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const { dir, remove } = await tempDir('p2p-redis-');
  let current: Proc | undefined;
  const launch = async () => {
    // --protected-mode no is harmless on 127.0.0.1 and avoids its warnings; no config file is read.
    const argv = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no', '--loglevel', 'notice'];
    const proc = runProgram('redis-server', argv, { cwd: dir });
    current = proc;
    await proc.waitFor(/Ready to accept connections/, 15_000);
  };
  const end = async (signal: NodeJS.Signals) => {
    const p = current;
    current = undefined;
    if (!p) return;
    p.kill(signal);
    await p.exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc: () => current,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    start: async () => {
      if (!current) await launch();
    },
    close: async () => {
      await end('SIGKILL');
      await remove();
    },
  };
}
