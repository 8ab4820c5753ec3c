/** Shared CLI plumbing: flags, prompts, one-line errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import readline from 'node:readline';
import prompts from 'prompts';
import { parseByteSize } from './sizes.ts';

/** An error meant for the user: printed as one line, exit status non-zero, no stack. */
export class UserError extends Error {}

export function die(message: string, code = 1): never {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(code);
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Flags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseFlags(options: Options, usage: string): Flags {
  let parsed: Flags;
  try {
    parsed = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as Flags;
  } catch (e) {
    die(`${(e as Error).message}\n${usage}`, 2);
  }
  if (parsed.values['help']) {
    process.stdout.write(usage + '\n');
    process.exit(0);
  }
  return parsed;
}

export function parsePortFlag(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const s = String(v);
  if (!/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535) die(`--${name} must be a port number 1..65535`, 2);
  return Number(s);
}

export function parsePositiveFlag(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) die(`--${name} must be a positive number`, 2);
  return n;
}

/** `--max-upload-rate 10M`: bytes per second, with K/M/G suffixes; undefined when not given. */
export function parseRateFlag(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = parseByteSize(String(v).replace(/\/s$/i, ''));
  if (n === null || n <= 0) die(`--${name} must be a rate in bytes per second such as 10M or 512K`, 2);
  return n;
}

/**
 * Ask one question. On a terminal this uses `prompts`; with piped stdin it prints the prompt and
 * reads one line, so scripts and tests can answer. Returns null at end of input (or Ctrl-C).
 */
export async function ask(message: string): Promise<string | null> {
  if (process.stdin.isTTY) {
    let cancelled = false;
    const r = await prompts({ type: 'text', name: 'v', message }, { onCancel: () => { cancelled = true; } });
    return cancelled || typeof r.v !== 'string' ? null : r.v.trim();
  }
  process.stdout.write(message + ' ');
  const answer = await readLine();
  // Echo a piped answer, so the transcript reads as it would on a terminal.
  process.stdout.write((answer ?? '') + '\n');
  return answer;
}

let lines: AsyncIterator<string> | undefined;

function readLine(): Promise<string | null> {
  lines ??= readline.createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
  return lines.next().then((r) => (r.done ? null : r.value.trim()));
}

/** Stop reading stdin so the process can exit when its work is done. */
export function closeInput(): void {
  if (lines) void lines.return?.();
  process.stdin.pause();
}

/**
 * Ask until `accept` takes the answer. Not interactive: the first refusal is final (exit 1);
 * on a terminal the user is asked again.
 */
export async function askUntil<T>(message: string, accept: (answer: string) => Promise<T>): Promise<T> {
  for (;;) {
    const answer = await ask(message);
    if (answer === null) die('no answer given');
    try {
      return await accept(answer);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      if (!process.stdin.isTTY) die(e.message);
      process.stderr.write(`${e.message}\n`);
    }
  }
}
