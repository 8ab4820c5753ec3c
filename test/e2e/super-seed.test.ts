/**
 * BEP 16 super-seeding of our own: one seeder with --super-seed and four requesters started
 * together. The seeder offers each requester pieces nobody else was offered and waits for them to
 * be shared, so it uploads little more than one copy; every file ends exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startTracker } from '../support/procs.ts';
import { Scope, exitWithin, peerStats, sha1, sha1File, startRequester, startSeeder } from '../support/bad-peers.ts';

const MiB = 1024 * 1024;

test('--super-seed: 1 seeder + 4 requesters, the seeder uploads < 1.3 copies, every file exact', { timeout: 120_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir();
    const size = 8 * MiB + 777;
    const data = randomBytes(size);
    await writeFile(path.join(dir, 'super.bin'), data);
    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'super.bin', tracker.announce, ['--piece-length', '64K', '--super-seed']);
    const t0 = Date.now();
    const reqs = await Promise.all([0, 1, 2, 3].map((i) => startRequester(scope, dir, seeder.torrent, ['--out', `r${i}`, '--seed', '--wait', '40'])));
    await Promise.all(reqs.map((r) => r.proc.waitFor(/^File downloaded: super\.bin/m, 100_000)));
    const elapsed = Date.now() - t0;
    for (const [i] of reqs.entries()) assert.equal(await sha1File(path.join(dir, `r${i}`, 'super.bin')), sha1(data), `requester ${i}: exact bytes`);
    const up = (await peerStats(seeder.port)).uploaded;
    t.diagnostic(`4 x ${(size / MiB).toFixed(1)} MiB in ${elapsed} ms; the super-seeder uploaded ${(up / size).toFixed(2)} copies`);
    assert.ok(up >= size, `the seeder uploaded at least one copy (${up})`);
    assert.ok(up < 1.3 * size, `the super-seeder uploaded ${(up / size).toFixed(2)} copies, not < 1.3`);
    for (const r of reqs) r.proc.kill('SIGTERM');
    for (const r of reqs) await exitWithin(r.proc, 10_000, 'requester');
  } finally {
    await scope.dispose();
  }
});
