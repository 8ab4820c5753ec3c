/** Shared CLI plumbing: flags, prompts, one-line errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import readline from 'node:readline';
import { readFileSync } from 'node:fs';
import prompts from 'prompts';
import { parseByteSize } from './sizes.ts';

/** An error meant for the user: printed as one line, exit status non-zero, no stack. */
export class UserError extends Error {}

/** Exit statuses, as the README documents them. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** Ctrl-C (or SIGTERM): a new line after a terminal's `^C`, and the shell's status for an interrupted program. */
export function interrupted(): never {
  if (process.stdout.isTTY) process.stdout.write('\n');
  process.exit(EXIT.interrupted);
}

export function die(message: string, code = 1): never {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(code);
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Flags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parse argv against `options` (plus --help and --version). Mistakes end the program with one
 * line of our own and status 2: an unknown option, a missing value, more than `maxPositionals`
 * arguments, or a flag that `npm run x --flag` (without `--`) took for npm itself.
 */
export function parseFlags(options: Options, usage: string, maxPositionals = 1): Flags {
  let parsed: Flags;
  try {
    parsed = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } }, allowPositionals: true, strict: true }) as Flags;
  } catch (e) {
    die(`${argvMistake(e as Error & { code?: string })} (--help lists the options)`, 2);
  }
  if (parsed.values['help']) {
    process.stdout.write(usage + '\n');
    process.exit(0);
  }
  if (parsed.values['version']) {
    process.stdout.write(`${PACKAGE.name} ${PACKAGE.version}\n`);
    process.exit(0);
  }
  const eaten = flagsNpmAte(Object.keys(options), process.env, process.argv);
  if (eaten.length > 0) die(`npm took ${eaten.map((f) => `--${f}`).join(', ')} for itself: put \`--\` before the program's flags, as in \`npm run ${process.env['npm_lifecycle_event'] ?? '<script>'} -- --${eaten[0]} ...\``, 2);
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals.slice(maxPositionals);
    die(`unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.join(' ')} (${maxPositionals === 0 ? 'this program takes none' : `at most ${maxPositionals}`}; --help lists the options)`, 2);
  }
  return parsed;
}

/** node:util parseArgs' errors, in a line of ours (its own text suggests syntax our users do not need). */
function argvMistake(e: Error & { code?: string }): string {
  // `Option '-p, --port <value>' argument missing`: name the long form.
  const option = /'(?:-\w, )?(-[^' ]*)/.exec(e.message)?.[1] ?? '';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `${option} needs a value`;
  return e.message.split('\n')[0] ?? 'bad arguments';
}

/**
 * Our flags that npm swallowed: `npm run x --port 7241` makes npm set npm_config_port (and pass
 * 7241 on as a stray argument) while --port never reaches argv. npm's own settings are not ours.
 */
export function flagsNpmAte(flags: string[], env: NodeJS.ProcessEnv, argv: string[]): string[] {
  // Only when npm started this very program (`npm test` passes its environment to the programs tests spawn).
  const script = argv[1] === undefined ? undefined : argv[1].split(/[\\/]/).pop();
  if (script === undefined || !env['npm_lifecycle_script']?.includes(script)) return [];
  const inEnv = (name: string) => env[`npm_config_${name.replaceAll('-', '_')}`] !== undefined;
  // `--no-udp` reaches npm as the setting `udp` = false.
  const swallowed = (f: string) => inEnv(f) || (f.startsWith('no-') && inEnv(f.slice(3)));
  return flags.filter((f) => !NPM_OWN.has(f) && swallowed(f) && !argv.some((a) => a === `--${f}` || a.startsWith(`--${f}=`)));
}

/** npm settings a user may have in .npmrc, whose names some of our flags share. */
const NPM_OWN = new Set(['json', 'version', 'verbose', 'quiet', 'force', 'prefix', 'global', 'help']);

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

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
 * reads one line, so scripts and tests can answer. Returns null at end of input; Ctrl-C at a
 * terminal prompt ends the program as interrupted (status 130).
 */
export async function ask(message: string): Promise<string | null> {
  if (process.stdin.isTTY) {
    let cancelled = false;
    const r = await prompts({ type: 'text', name: 'v', message }, { onCancel: () => { cancelled = true; } });
    if (cancelled) interrupted();
    return typeof r.v !== 'string' ? null : r.v.trim();
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
