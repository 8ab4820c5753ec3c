/**
 * What the benchmarks compare against: installed programs (skipped with the apt-get line when
 * missing) and the npm anchors in bench/.anchors/, and the versions to record in results.json.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../harness/procs.ts';
import { HERE } from './support.ts';
export { missingProgram } from '../harness/procs.ts';

/** npm anchors live outside the project's dependencies, in bench/.anchors/ (gitignored). */
export const ANCHORS_DIR = path.join(HERE, '.anchors');
export const NPM_ANCHORS = ['bittorrent-tracker', 'create-torrent'] as const;
export const NPM_ANCHORS_INSTALL = `npm install --ignore-scripts --no-save --prefix bench/.anchors ${NPM_ANCHORS.join(' ')}`;

export function anchorModule(pkg: (typeof NPM_ANCHORS)[number], file: string): string {
  return path.join(ANCHORS_DIR, 'node_modules', pkg, file);
}

let anchorsInstall: Promise<string | undefined> | undefined;
/**
 * Make sure the npm anchors are installed in bench/.anchors/ (installing them once per bench run
 * if missing; BENCH_NO_INSTALL=1 forbids that). Resolves undefined when `pkg` is there, else the
 * reason to print as a skip, with the command that installs it.
 */
export async function npmAnchor(pkg: (typeof NPM_ANCHORS)[number], log: (l: string) => void): Promise<string | undefined> {
  const present = () => existsSync(anchorModule(pkg, 'package.json'));
  if (present()) return undefined;
  if (process.env['BENCH_NO_INSTALL'] === '1') return `${pkg} not installed (BENCH_NO_INSTALL=1): ${NPM_ANCHORS_INSTALL}`;
  anchorsInstall ??= new Promise((resolve) => {
    log(`installing the npm anchors: ${NPM_ANCHORS_INSTALL}`);
    execFile(
      'npm',
      ['install', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund', '--prefix', ANCHORS_DIR, ...NPM_ANCHORS],
      { cwd: ROOT, timeout: 180_000 },
      (err, _stdout, stderr) => resolve(err ? `${err.message.split('\n')[0]} ${stderr.split('\n').slice(-3).join(' ')}` : undefined),
    );
  });
  const err = await anchorsInstall;
  if (present()) return undefined;
  return `${pkg} not installed${err ? ` (${err.trim()})` : ''}: ${NPM_ANCHORS_INSTALL}`;
}

export function anchorVersion(pkg: (typeof NPM_ANCHORS)[number]): string {
  try {
    return (JSON.parse(readFileSync(anchorModule(pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

/** First line of `program --version`-like output, for results.json. */
export function programVersion(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 }).split('\n')[0]!.trim();
  } catch (e) {
    const out = (e as { stdout?: string; stderr?: string }).stdout || (e as { stderr?: string }).stderr || '';
    return out.split('\n')[0]!.trim() || '?';
  }
}
