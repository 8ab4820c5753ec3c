/**
 * Swarm end to end: real tracker, seeders and requesters as separate processes on loopback.
 *  - one rate-capped seeder and three requesters started together share the file among
 *    themselves (the seeder uploads well under three copies);
 *  - a seeder SIGKILLed mid-transfer while a second seeder of the same torrent is up;
 *  - the tracker SIGKILLed and restarted on the same port: the seeder re-registers and a new
 *    requester finds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, startTracker } from '../support/procs.ts';
import {
  Scope,
  exitWithin,
  peerStats,
  sha1,
  sha1File,
  startRequester,
  startSeeder,
  trackerPeers,
  until,
} from '../support/bad-peers.ts';

const MiB = 1024 * 1024;

test('swarm: 1 capped seeder + 3 requesters started together share the file among themselves', { timeout: 120_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir();
    const size = 32 * MiB;
    const data = randomBytes(size);
    await writeFile(path.join(dir, 'swarm.bin'), data);
    const want = sha1(data);

    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'swarm.bin', tracker.announce, ['--piece-length', '256K', '--max-upload-rate', '8M']);

    const t0 = Date.now();
    const reqs = await Promise.all(
      [0, 1, 2].map((i) => startRequester(scope, dir, seeder.torrent, ['--out', `r${i}`, '--seed', '--wait', '30'])),
    );
    // --seed: each keeps serving the others after its own download, until we stop it.
    await Promise.all(reqs.map((r) => r.proc.waitFor(/^File downloaded: swarm\.bin, saved to: r\d\/swarm\.bin$/m, 90_000)));
    const elapsed = Date.now() - t0;
    for (const r of reqs) await r.proc.waitFor(/^Seeding swarm\.bin on http:\/\/127\.0\.0\.1:\d+/m, 10_000);

    for (const [i, r] of reqs.entries()) {
      assert.equal(r.proc.child.exitCode, null, `requester ${i} still running (seeding)`);
      assert.equal(await sha1File(path.join(dir, `r${i}`, 'swarm.bin')), want, `requester ${i}: bytes equal the original`);
      assert.deepEqual(await readdir(path.join(dir, `r${i}`)), ['swarm.bin'], `requester ${i}: no .part/.state left`);
    }

    const seederStats = await peerStats(seeder.port);
    const reqStats = await Promise.all(reqs.map((r) => peerStats(r.port)));
    t.diagnostic(`download of 3 x ${size / MiB} MiB took ${elapsed} ms`);
    t.diagnostic(`seeder uploaded ${seederStats.uploaded} bytes (${(seederStats.uploaded / size).toFixed(2)} copies)`);
    for (const [i, s] of reqStats.entries()) {
      t.diagnostic(`requester ${i} uploaded ${s.uploaded} bytes (${(s.uploaded / size).toFixed(2)} copies), have ${s.torrents[0]?.have}/${s.torrents[0]?.pieces}`);
      assert.equal(s.torrents[0]?.have, s.torrents[0]?.pieces, `requester ${i} /stats says it holds every piece`);
    }
    assert.ok(
      seederStats.uploaded < 2 * size,
      `seeder uploaded ${seederStats.uploaded} bytes, not < 2 x ${size}: the requesters did not share with each other`,
    );
    const shared = reqStats.reduce((n, s) => n + s.uploaded, 0);
    assert.ok(seederStats.uploaded + shared >= 3 * size, `uploads add up to at least the 3 copies downloaded (${seederStats.uploaded} + ${shared})`);

    // --seed keeps running until SIGTERM, then exits 0.
    for (const r of reqs) r.proc.kill('SIGTERM');
    for (const [i, r] of reqs.entries()) assert.equal(await exitWithin(r.proc, 10_000, `requester ${i}`), 0, `requester ${i} exits 0 on SIGTERM`);
  } finally {
    await scope.dispose();
  }
});

test('swarm: a seeder SIGKILLed mid-transfer; the second seeder of the same torrent finishes the download', { timeout: 120_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir();
    const size = 32 * MiB;
    const data = randomBytes(size);
    await writeFile(path.join(dir, 'twice.bin'), data);

    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    const common = ['--piece-length', '256K', '--max-upload-rate', '4M'];
    const a = await startSeeder(scope, dir, 'twice.bin', tracker.announce, [...common, '--dir', 'seedA', '--requester-dir', 'forA']);
    const b = await startSeeder(scope, dir, 'twice.bin', tracker.announce, [...common, '--dir', 'seedB', '--requester-dir', 'forB']);
    assert.equal(a.infoHash, b.infoHash, 'same file and piece length: same info_hash');
    const listed = await until(async () => {
      const ps = await trackerPeers(tracker.port, a.infoHash);
      return ps.some((p) => p.port === a.port) && ps.some((p) => p.port === b.port);
    }, 10_000, 'both seeders listed by the tracker');
    assert.ok(listed, 'both seeders listed by the tracker');

    const req = await startRequester(scope, dir, 'forB/twice.bin.torrent', ['--out', 'dl', '--no-seed', '--wait', '30']);
    const pieces = size / (256 * 1024);
    // Kill seeder A once the requester holds about a quarter of the pieces.
    const haveAtKill = await until(async () => {
      const s = await peerStats(req.port).catch(() => null);
      const have = s?.torrents[0]?.have ?? 0;
      return have >= pieces / 4 ? have : 0;
    }, 30_000, 'the requester to hold a quarter of the pieces', 20);
    assert.equal(req.proc.child.exitCode, null, 'the requester has not finished when the seeder is killed');
    const aUploaded = (await peerStats(a.port)).uploaded;
    a.proc.kill('SIGKILL');
    await a.proc.exited;
    const killedAt = Date.now();
    assert.ok(haveAtKill < pieces, `killed mid-way: the requester held ${haveAtKill}/${pieces} pieces`);
    assert.ok(aUploaded > 0, 'the killed seeder had served part of the file');

    assert.equal(await exitWithin(req.proc, 60_000, 'requester'), 0, `requester exit code\nstdout:\n${req.proc.out()}\nstderr:\n${req.proc.err()}`);
    t.diagnostic(`seeder A killed with ${haveAtKill}/${pieces} pieces held (A had uploaded ${aUploaded} bytes); finished ${Date.now() - killedAt} ms later`);
    assert.match(req.proc.out(), /^File downloaded: twice\.bin, saved to: dl\/twice\.bin$/m);
    assert.match(req.proc.out(), new RegExp(`^Dropped peer 127\\.0\\.0\\.1:${a.port}: `, 'm'), 'the dead seeder is dropped');
    assert.ok((await peerStats(b.port)).uploaded > 0, 'seeder B served the rest');
    assert.equal(await sha1File(path.join(dir, 'dl', 'twice.bin')), sha1(data), 'bytes equal the original');
    assert.deepEqual(await readdir(path.join(dir, 'dl')), ['twice.bin']);
  } finally {
    await scope.dispose();
  }
});

test('swarm: tracker SIGKILLed and restarted on the same port; the seeder re-registers, a new requester downloads', { timeout: 90_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir();
    const data = randomBytes(3 * MiB + 12345);
    await writeFile(path.join(dir, 'again.bin'), data);

    const tracker = await startTracker(dir, ['--interval', '1']);
    scope.adopt(tracker.proc);
    // No web seed in the torrent: the requester can find the seeder only through the tracker.
    const seeder = await startSeeder(scope, dir, 'again.bin', tracker.announce, ['--piece-length', '64K', '--no-web-seed']);
    assert.ok((await trackerPeers(tracker.port, seeder.infoHash)).some((p) => p.port === seeder.port && p.seeder), 'seeder listed');

    tracker.proc.kill('SIGKILL');
    await tracker.proc.exited;
    // The seeder notices the outage (it announces every second).
    await seeder.proc.waitFor(/Tracker unreachable/, 10_000);

    const tracker2 = scope.adopt(runCli('tracker', ['--port', String(tracker.port), '--interval', '1'], { cwd: dir }));
    await tracker2.waitFor(/\* Running on http:\/\/127\.0\.0\.1:\d+/, 10_000);
    const t0 = Date.now();
    await until(async () => (await trackerPeers(tracker.port, seeder.infoHash)).some((p) => p.port === seeder.port && p.seeder), 6_000, 'the seeder on the restarted tracker');
    t.diagnostic(`seeder re-registered ${Date.now() - t0} ms after the tracker restarted`);

    const req = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '20']);
    assert.equal(await exitWithin(req.proc, 30_000, 'requester'), 0, `requester exit code\nstdout:\n${req.proc.out()}\nstderr:\n${req.proc.err()}`);
    assert.match(req.proc.out(), /^Found 1 seeder\(s\), starting download\.\.\.$/m);
    assert.match(req.proc.out(), new RegExp(`^Downloading again\\.bin from Seeder 127\\.0\\.0\\.1:${seeder.port}$`, 'm'));
    assert.equal(await sha1File(path.join(dir, 'dl', 'again.bin')), sha1(data), 'bytes equal the original');
  } finally {
    await scope.dispose();
  }
});
