/**
 * `npm run demo`: --help prints a usage and starts nothing; a busy port is one line naming the
 * flag that changes it; with other ports the whole demo runs beside programs on the default ones.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { freePort, ROOT } from './support/procs.ts';
import { Scope, exitWithin } from './support/bad-peers.ts';

const scope = new Scope();
after(() => scope.dispose());

test('--help prints the usage with the port flags and exits 0 at once', async () => {
  const p = scope.spawn('demo', ['--help'], ROOT);
  assert.equal(await exitWithin(p, 10_000, 'demo --help'), 0);
  assert.match(p.out(), /^usage: npm run demo -- \[--keep\] \[--tracker-port 5001\]/);
  assert.match(p.out(), /--seeder-port/);
  assert.doesNotMatch(p.out(), /Step 1/, 'nothing started');
});

test('a busy tracker port: one line naming --tracker-port, nothing started', async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  scope.defer(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const port = (busy.address() as net.AddressInfo).port;
  const p = scope.spawn('demo', ['--tracker-port', String(port)], ROOT);
  assert.equal(await exitWithin(p, 10_000, 'demo'), 1);
  assert.equal(p.err(), `Error: cannot listen on 127.0.0.1:${port}: the tracker's port is in use by another program; choose another with --tracker-port\n`);
  assert.equal(p.out(), '', 'no step started, no regex shown');
});

test('the whole demo on other ports', { timeout: 60_000 }, async () => {
  const [t, s, r1, r2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dirs = [r1, r2].map((p) => path.join(ROOT, `peer_${p}`));
  scope.defer(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const p = scope.spawn('demo', ['--tracker-port', String(t), '--seeder-port', String(s), '--requester-port', String(r1), '--second-port', String(r2)], ROOT);
  assert.equal(await exitWithin(p, 50_000, 'demo'), 0, p.out() + p.err());
  assert.match(p.out(), new RegExp(`^Demo OK: peer_${r1}/example\\.txt and peer_${r2}/example\\.txt are byte-identical`, 'm'));
  for (const d of dirs) assert.ok(existsSync(path.join(d, 'example.txt')), `${d}/example.txt exists after the demo`);
});
