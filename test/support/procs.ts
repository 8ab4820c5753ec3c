/**
 * The tests' entry to the process harness (harness/procs.ts, shared with bench/), plus what only
 * tests use: per-file cleanup scopes, timeouts, polling and skipping when a program is missing.
 */
import { missingProgram, runCli, tempDir, type Proc } from '../../harness/procs.ts';

export * from '../../harness/procs.ts';

/**
 * Is a Debian program installed? If not: under CI=true the test fails (CI must install it);
 * otherwise the test is skipped with the apt-get line that installs it.
 */
export function requireProgram(t: { skip(msg: string): void }, program: string, debianPackage: string): boolean {
  const msg = missingProgram(program, debianPackage);
  if (msg === undefined) return true;
  skipOrFail(t, msg);
  return false;
}

/** A test whose Debian program is missing (`why` names the apt-get line): fails under CI=true, else skips. */
export function skipOrFail(t: { skip(msg: string): void }, why: string): void {
  if (process.env['CI'] === 'true') throw new Error(`${why} (required under CI=true)`);
  t.skip(why);
}

/**
 * Every process and temporary folder one test file starts, cleaned up together: call `cleanup()`
 * in the file's `after` hook.
 */
export class TestScope {
  private readonly procs = new Set<Proc>();
  private readonly dirs: Array<() => Promise<void>> = [];

  constructor(private readonly prefix = 'p2p-test-') {}

  /** runCli, and kill the process at cleanup if it is still running. */
  spawn(...args: Parameters<typeof runCli>): Proc {
    return this.track(runCli(...args));
  }

  track(p: Proc): Proc {
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  /** A fresh temporary folder, removed at cleanup. */
  async dir(): Promise<string> {
    const { dir, remove } = await tempDir(this.prefix);
    this.dirs.push(remove);
    return dir;
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.all([...this.procs].map((p) => p.exited));
    await Promise.all(this.dirs.map((r) => r()));
  }
}

/** Resolve with `p`, or reject after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** Poll `check` every 200 ms until it is true, or fail after `ms` with `what()`. */
export async function until(check: () => Promise<boolean> | boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
