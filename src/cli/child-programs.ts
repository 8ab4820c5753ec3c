/**
 * The demo's programs as child processes: each started as `npm run <name>` starts it (the
 * compiled program in dist/ with its package.json node options), its lines echoed with a label,
 * and waited on by what it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { nodeFlagsFor } from './node-flags.ts';

export interface Step {
  child: ChildProcess;
  exited: Promise<number | null>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

export class ChildPrograms {
  private readonly children: ChildProcess[] = [];

  /** `here`: the folder of the compiled programs; `root`: the project, their working folder. */
  constructor(
    private readonly here: string,
    private readonly root: string,
  ) {}

  /** Start the program `name`, echo its lines with a label, optionally answer its prompt. */
  start(name: string, answer?: string, args: string[] = [], label = name): Step {
    // The compiled programs beside this one (dist/), as `npm run <name>` would run them.
    const child = spawn(process.execPath, [...nodeFlagsFor(this.root, name), path.join(this.here, `${name}.js`), ...args], { cwd: this.root, stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.push(child);
    let seen = '';
    let partial = '';
    const waiters: Array<() => void> = [];
    const onData = (d: Buffer) => {
      const text = d.toString();
      seen += text;
      // Print whole lines only, so a prompt and its echoed answer stay on one line.
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line.trim()) process.stdout.write(`[${label}] ${line}\n`);
      for (const w of waiters) w();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    if (answer !== undefined) child.stdin!.write(answer + '\n');
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (code) => {
        if (partial.trim()) process.stdout.write(`[${label}] ${partial}\n`);
        resolve(code);
      }),
    );
    return {
      child,
      exited,
      waitFor: (re, timeoutMs = 60_000) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${name} did not print ${re} within ${timeoutMs / 1000} s`)), timeoutMs);
          const check = () => {
            if (re.test(seen)) {
              clearTimeout(timer);
              resolve();
            }
          };
          waiters.push(check);
          void exited.then(() => {
            clearTimeout(timer);
            if (!re.test(seen)) reject(new Error(`${name} exited before printing ${re}`));
          });
          check();
        }),
    };
  }

  /** SIGTERM to every program still running. */
  stopAll(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  }
}
