/**
 * No truthiness assertion without a message. When `assert(x)`/`assert.ok(x)` fails with no message
 * (or a null/undefined one), Node 20's innerOk -> getErrMessage reads the caller's source and parses
 * it with acorn from the call site; under tsx that source is TypeScript, acorn keeps failing and
 * retrying on ever longer reads, and one failure stalled 174 s before it was reported.
 * Node builds every other assertion's message (equal, deepEqual, match, ifError, fail...) from the
 * values, so only the forms that reach innerOk are checked: node:assert's default export (`ok`),
 * `.ok`, `.strict` (`strict`, the default of node:assert/strict), and node:test's `t.assert.ok`.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../support/procs.ts';

const SCANNED = ['test', 'bench', 'harness'].map((d) => path.join(ROOT, d));
const ASSERT_MODULES = new Set(['assert', 'assert/strict', 'node:assert', 'node:assert/strict']);
/** Members of node:assert (or of its `strict`) that are themselves innerOk. */
const TRUTHINESS_MEMBERS = new Set(['ok', 'strict', 'default']);

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : typeScriptFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The local names a file binds to node:assert: modules (`assert`, `* as a`) and functions (`ok`, `strict`). */
function assertBindings(sf: ts.SourceFile): { modules: Set<string>; functions: Set<string> } {
  const modules = new Set<string>();
  const functions = new Set<string>();
  for (const stmt of sf.statements) {
    if (!ts.isImportDeclaration(stmt) || !ts.isStringLiteral(stmt.moduleSpecifier)) continue;
    if (!ASSERT_MODULES.has(stmt.moduleSpecifier.text) || !stmt.importClause) continue;
    const clause = stmt.importClause;
    // The default export is both the ok function and the module object (assert.ok, assert.strict).
    if (clause.name) {
      modules.add(clause.name.text);
      functions.add(clause.name.text);
    }
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) modules.add(bindings.name.text);
    if (bindings && ts.isNamedImports(bindings)) {
      for (const el of bindings.elements) {
        const imported = (el.propertyName ?? el.name).text;
        if (TRUTHINESS_MEMBERS.has(imported)) functions.add(el.name.text);
        if (imported === 'strict' || imported === 'default') modules.add(el.name.text);
      }
    }
  }
  return { modules, functions };
}

/** Is `expr` node:assert's module object (or its `.strict` / `.default`), by the file's bindings? */
function isAssertModule(expr: ts.Expression, modules: Set<string>): boolean {
  if (ts.isIdentifier(expr)) return modules.has(expr.text);
  if (!ts.isPropertyAccessExpression(expr)) return false;
  return (expr.name.text === 'strict' || expr.name.text === 'default') && isAssertModule(expr.expression, modules);
}

/** Does calling `callee` reach innerOk? `t.assert.ok` is node:test's context assert, whatever `t` is. */
function isTruthinessAssertion(callee: ts.Expression, b: ReturnType<typeof assertBindings>): boolean {
  if (ts.isIdentifier(callee)) return b.functions.has(callee.text);
  if (!ts.isPropertyAccessExpression(callee) || !TRUTHINESS_MEMBERS.has(callee.name.text)) return false;
  if (isAssertModule(callee.expression, b.modules)) return true;
  const owner = callee.expression;
  return callee.name.text === 'ok' && ts.isPropertyAccessExpression(owner) && owner.name.text === 'assert';
}

/** A message Node would replace by reading the source: none, `undefined`, `null`, `void 0`; or unknown (spread). */
function lacksMessage(args: ts.NodeArray<ts.Expression>): boolean {
  if (args.some((a) => ts.isSpreadElement(a))) return true;
  const message = args[1];
  if (message === undefined) return true;
  if (message.kind === ts.SyntaxKind.NullKeyword || ts.isVoidExpression(message)) return true;
  return ts.isIdentifier(message) && message.text === 'undefined';
}

/** Every truthiness assertion in `text` with no message, as `file:line` (the line where the call starts). */
function messagelessAssertions(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const bindings = assertBindings(sf);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && isTruthinessAssertion(node.expression, bindings) && lacksMessage(node.arguments)) {
      found.push(`${fileName}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

test('the rule finds messageless truthiness assertions in a sample and passes the ones with a message', () => {
  const sample = [
    "import assert from 'node:assert/strict';",
    "import * as plain from 'node:assert';",
    "import { ok, strict as s, equal } from 'node:assert';",
    "import { ok as notAssert } from './elsewhere.ts';",
    'assert(a);', // 5
    'assert.ok(a, `a is ${a}`);',
    'assert.ok(', // 7: multi-line, reported where it starts
    '  a &&',
    '    b,',
    ');',
    'assert.ok(a, undefined);', // 11
    'plain.ok(a);', // 12
    'plain.strict.ok(a, null);', // 13
    'ok(a);', // 14
    's(a);', // 15
    'equal(a, 1);',
    'notAssert(a);',
    'assert.equal(a, 1);',
    'test("x", (t) => { t.assert.ok(a); t.assert.ok(a, "a"); });', // 19
    'assert.ok(...args);', // 20
    'assert.ifError(err);',
    'other.ok(a);',
  ].join('\n');
  const lines = messagelessAssertions('sample.ts', sample).map((f) => Number(f.split(':')[1]));
  assert.deepEqual(lines, [5, 7, 11, 12, 13, 14, 15, 19, 20]);
});

test('no assert(x) / assert.ok(x) without a message in test/, bench/ or harness/ (Node would parse the TypeScript source for one)', () => {
  const found = SCANNED.flatMap(typeScriptFiles).flatMap((f) => messagelessAssertions(path.relative(ROOT, f), readFileSync(f, 'utf8')));
  assert.deepEqual(found, [], `${found.length} calls need a message:\n${found.join('\n')}`);
});
