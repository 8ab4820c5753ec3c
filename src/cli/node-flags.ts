/**
 * The node options a program runs with, read from its `npm run <name>` script in package.json
 * (`node <options> dist/<name>.js`), so that the demo, the tests and the benchmarks start each
 * program exactly as `npm run` does. One place decides them: package.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function nodeFlagsFor(root: string, name: string): string[] {
  let script: unknown;
  try {
    script = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, unknown> }).scripts?.[name];
  } catch {
    return [];
  }
  if (typeof script !== 'string') return [];
  const words = script.trim().split(/\s+/);
  const target = words.indexOf(`dist/${name}.js`);
  if (words[0] !== 'node' || target < 0) return [];
  return words.slice(1, target).filter((w) => w.startsWith('--'));
}
