/** The seeder's `--json`: every stdout line is one JSON event (torrent with its magnet, seeding, log lines, the closing line); `--json` without a file is a usage error. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, startTracker } from '../support/procs.ts';
import { Scope, exitWithin } from '../support/bad-peers.ts';

test('seeder --json: one JSON event a line, from the torrent to the closing line', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-seeder-json-');
    await writeFile(path.join(dir, 'j.bin'), randomBytes(50_000));
    const tracker = await startTracker(dir);
    scope.adopt(tracker.proc);
    const port = await freePort();
    const seeder = scope.spawn('seeder', ['j.bin', '--port', String(port), '--tracker', tracker.announce, '--json'], dir);
    await seeder.waitFor(/"event":"seeding"/, 30_000);
    seeder.kill('SIGTERM');
    assert.equal(await exitWithin(seeder, 10_000, 'seeder'), 0);
    const events = seeder.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of events) assert.ok(typeof e['time'] === 'string' && typeof e['event'] === 'string', JSON.stringify(e));
    const torrent = events.find((e) => e['event'] === 'torrent');
    assert.ok(
      torrent && /^[0-9a-f]{40}$/.test(String(torrent['infoHash'])) && torrent['name'] === 'j.bin',
      `a torrent event with a 40-hex infoHash and name j.bin: ${JSON.stringify(torrent)}`,
    );
    assert.match(String(torrent['magnet']), new RegExp(`^magnet:\\?xt=urn:btih:${String(torrent['infoHash'])}&dn=j\\.bin`));
    assert.deepEqual(events.find((e) => e['event'] === 'seeding')?.['url'], `http://127.0.0.1:${port}`);
    const logs = events.filter((e) => e['event'] === 'log').map((e) => String(e['message']));
    assert.ok(logs.includes('Successfully registered with tracker.'), logs.join('\n'));
    assert.ok(logs.some((m) => /^Stopped seeding j\.bin: uploaded /.test(m)), logs.join('\n'));
  } finally {
    await scope.dispose();
  }
});

test('seeder --json without a file is a usage error (it does not ask)', { timeout: 30_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-seeder-json-');
    const seeder = scope.spawn('seeder', ['--json'], dir);
    assert.equal(await exitWithin(seeder, 10_000, 'seeder'), 2);
    assert.equal(seeder.err(), 'Error: --json needs the FILE argument (it does not ask for one)\n');
  } finally {
    await scope.dispose();
  }
});
