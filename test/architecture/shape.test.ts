/**
 * The code's shape, held by a test so it stays readable: files in src/ of at most ~300 lines,
 * functions of at most ~80, entry points (CLIs) under 100 lines: they compose, they do not compute.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../support/procs.ts';

const SRC = path.join(ROOT, 'src');
const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 80;
const MAX_ENTRY_LINES = 100;
const ENTRY_POINTS = ['tracker.ts', 'seeder.ts', 'requester.ts', 'demo.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

/** Every function-like node longer than `max` lines, as `file:line name (n lines)`. */
function longFunctions(file: string, max: number): string[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const n = end - start + 1;
      const name = (node as ts.FunctionLikeDeclaration).name?.getText(sf) ?? '(anonymous)';
      if (n > max) found.push(`${path.relative(ROOT, file)}:${start + 1} ${name} (${n} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

test(`no file in src/ is over ${MAX_FILE_LINES} lines`, () => {
  const long = sourceFiles(SRC)
    .map((f) => ({ f: path.relative(ROOT, f), n: lineCount(readFileSync(f, 'utf8')) }))
    .filter((x) => x.n > MAX_FILE_LINES);
  assert.deepEqual(long, [], long.map((x) => `${x.f}: ${x.n} lines`).join(', '));
});

test(`no function in src/ is over ${MAX_FUNCTION_LINES} lines`, () => {
  const long = sourceFiles(SRC).flatMap((f) => longFunctions(f, MAX_FUNCTION_LINES));
  assert.deepEqual(long, []);
});

test(`entry points are under ${MAX_ENTRY_LINES} lines`, () => {
  const long = ENTRY_POINTS.map((e) => ({ e, n: lineCount(readFileSync(path.join(SRC, e), 'utf8')) })).filter((x) => x.n >= MAX_ENTRY_LINES);
  assert.deepEqual(long, [], long.map((x) => `src/${x.e}: ${x.n} lines`).join(', '));
});
