/** The seeding status line (terminal only) and the closing line, on fake streams and on the real seeder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SeedingStatus, formatDuration } from '../../src/cli/seeding-status.ts';
import { startTracker } from '../support/procs.ts';
import { Scope, exitWithin, startSeeder } from '../support/bad-peers.ts';

function fakeOut(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const out = { isTTY, text: '', write(s: string) { out.text += s; return true; } };
  return out as unknown as NodeJS.WriteStream & { text: string };
}

test('on a terminal: a redrawn status line, then the closing line on a line of its own', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
  const out = fakeOut(true);
  let uploaded = 0;
  const status = new SeedingStatus('big.iso', 1000, () => ({ uploaded, peers: 2 }), out);
  status.start();
  uploaded = 2048;
  t.mock.timers.tick(1000);
  assert.match(out.text, /^\rSeeding big\.iso: 2 peers, uploaded 2\.0 KiB \(ratio 2\.05\), 2\.0 KiB\/s\x1b\[K$/);
  status.stop();
  assert.ok(out.text.endsWith('\r\x1b[KStopped seeding big.iso: uploaded 2.0 KiB (ratio 2.05) in 1 s\n'), JSON.stringify(out.text));
});

test('in a pipe: no status line, only the closing line', () => {
  const out = fakeOut(false);
  const status = new SeedingStatus('a', 10, () => ({ uploaded: 5, peers: 0 }), out);
  status.start();
  status.stop();
  assert.equal(out.text, 'Stopped seeding a: uploaded 5 B (ratio 0.50) in 0 s\n');
});

test('formatDuration', () => {
  assert.equal(formatDuration(12_400), '12 s');
  assert.equal(formatDuration(185_000), '3 min 05 s');
  assert.equal(formatDuration(3_720_000), '1 h 02 min');
});

test('the seeder stopped by Ctrl-C (SIGINT) says what it uploaded', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-stop-');
    await writeFile(path.join(dir, 'x.bin'), randomBytes(10_000));
    const tracker = await startTracker(dir);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'x.bin', tracker.announce);
    seeder.proc.kill('SIGINT');
    assert.equal(await exitWithin(seeder.proc, 10_000, 'seeder'), 0);
    assert.match(seeder.proc.out(), /^Stopped seeding x\.bin: uploaded 0 B \(ratio 0\.00\) in \d+ s$/m);
  } finally {
    await scope.dispose();
  }
});

