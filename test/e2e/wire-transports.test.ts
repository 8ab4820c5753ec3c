/**
 * Our seeder and our requester over the wire protocol only (`--protocol wire`, no web seed), over
 * each transport and with encryption: uTP only (`--transport utp`: the requester cannot use TCP),
 * and MSE with RC4 required on both sides. The file must arrive exact; the seeder's batched sends
 * reuse their buffers once a write is done, which a transport that kept a reference would corrupt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startTracker } from '../support/procs.ts';
import { Scope, exitWithin, getJson, sha1, sha1File, startRequester, startSeeder } from '../support/bad-peers.ts';

const MiB = 1024 * 1024;

for (const [what, flags] of [
  ['uTP only', ['--transport', 'utp']],
  ['MSE with RC4 required', ['--encryption', 'require']],
] as const) {
  test(`wire protocol only, ${what}: our requester downloads 6 MiB exact from our seeder`, { timeout: 90_000 }, async () => {
    const scope = new Scope();
    try {
      const dir = await scope.dir();
      const data = randomBytes(6 * MiB + 123);
      await writeFile(path.join(dir, 'w.bin'), data);
      const tracker = await startTracker(dir, ['--interval', '2']);
      scope.adopt(tracker.proc);
      const seeder = await startSeeder(scope, dir, 'w.bin', tracker.announce, ['--no-web-seed', '--piece-length', '256K', ...flags]);
      const req = await startRequester(scope, dir, seeder.torrent, ['--out', 'r', '--no-seed', '--protocol', 'wire', '--wait', '30', ...flags]);
      const code = await exitWithin(req.proc, 60_000, 'requester');
      if (code !== 0) {
        // The seeder's side of a stalled download: its connections (what each peer holds, bytes each way) and its log.
        const view = await getJson(`http://127.0.0.1:${seeder.port}/api/torrents/${seeder.infoHash}`).catch((e: Error) => e.message);
        assert.fail(`requester exited ${code}\n${req.proc.out()}${req.proc.err()}\n--- seeder's view: ${JSON.stringify(view)}\n--- seeder:\n${seeder.proc.out()}${seeder.proc.err()}`);
      }
      assert.match(req.proc.out(), /\(BitTorrent protocol\)/);
      assert.equal(await sha1File(path.join(dir, 'r', 'w.bin')), sha1(data));
    } finally {
      await scope.dispose();
    }
  });
}
