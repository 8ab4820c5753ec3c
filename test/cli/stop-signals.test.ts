/**
 * The process's one owner of SIGINT/SIGTERM, in child processes that signal themselves (the
 * handlers are process-wide and never removed, so not in the test runner's own process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../support/procs.ts';

/** Run `body` in a child with the module imported and `signal(s)` (send, then let it arrive) defined. */
function child(body: string): { status: number | null; signal: NodeJS.Signals | null; out: string } {
  const script = `
import { installStopSignals, holdStop } from ${JSON.stringify(path.join(ROOT, 'src/cli/stop-signals.ts'))};
const signal = async (s) => { process.kill(process.pid, s); await new Promise((r) => setTimeout(r, 100)); };
const said = (what) => (s) => console.log(what + ' ' + s);
${body}
`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, signal: r.signal, out: r.stdout + r.stderr };
}

test('held: the first signal reaches every holder, even one that holds after it; repeats are ignored; released: the idle stop', () => {
  const r = child(`
installStopSignals((s) => { console.log('idle ' + s); process.exit(130); });
const a = holdStop();
void a.requested.then(said('a'));
await signal('SIGTERM');
const b = holdStop();
void b.requested.then(said('b'));
await signal('SIGINT');
await signal('SIGTERM');
console.log('still running');
a.release();
await signal('SIGINT');
console.log('still running: b holds');
b.release();
await signal('SIGINT');
console.log('not reached');
`);
  assert.deepEqual(r, { status: 130, signal: null, out: 'a SIGTERM\nb SIGTERM\nstill running\nstill running: b holds\nidle SIGINT\n' });
});

test('nothing held: a signal ends the program at once through its idle stop', () => {
  const r = child(`
installStopSignals((s) => { console.log('idle ' + s); process.exit(7); });
setInterval(() => {}, 1000);
await signal('SIGTERM');
console.log('not reached');
`);
  assert.deepEqual(r, { status: 7, signal: null, out: 'idle SIGTERM\n' });
});

test('a hold without installStopSignals installs the handlers, with status 130 when idle', () => {
  const r = child(`
const h = holdStop();
void h.requested.then(said('told'));
await signal('SIGINT');
h.release();
await signal('SIGTERM');
console.log('not reached');
`);
  assert.deepEqual(r, { status: 130, signal: null, out: 'told SIGINT\n' });
});

test('installed twice: one pair of handlers, the later idle stop', () => {
  const r = child(`
installStopSignals(() => { console.log('first'); process.exit(1); });
installStopSignals((s) => { console.log('second ' + s + ' ' + process.listenerCount(s)); process.exit(130); });
await signal('SIGTERM');
`);
  assert.deepEqual(r, { status: 130, signal: null, out: 'second SIGTERM 1\n' });
});
