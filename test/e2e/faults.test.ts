/**
 * Faults: peers that lie or stall, a disk that fills up, an output folder that cannot exist.
 * The bad peers are in-test HTTP servers (test/support/bad-peers.ts) registered with the real
 * tracker; the honest seeder and the requester are the real programs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startTracker } from '../support/procs.ts';
import { makeTorrent as makeSingleFileTorrent } from '../../src/metainfo/create.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import {
  Scope,
  exitWithin,
  sha1,
  sha1File,
  sleep,
  startRequester,
  startSeeder,
  trackerPeers,
} from '../support/bad-peers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

test('faults: a lying peer is banned at its first bad piece and asked for nothing more; the file is exact', { timeout: 90_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-faults-');
    const data = randomBytes(8 * MiB);
    await writeFile(path.join(dir, 'lie.bin'), data);
    const tracker = await startTracker(dir, ['--interval', '1']);
    scope.adopt(tracker.proc);
    // The honest seeder is slow, so the liar (instant answers) gets plenty of chances.
    const seeder = await startSeeder(scope, dir, 'lie.bin', tracker.announce, ['--piece-length', '256K', '--max-upload-rate', '3M']);
    const meta = parseMetainfo(await readFile(seeder.torrent));
    const liar = await scope.badPeer({
      infoHashHex: meta.infoHashHex,
      pieceLength: meta.pieceLength,
      parts: [{ path: path.join(dir, 'lie.bin'), length: data.length }],
      mode: 'corrupt',
    });
    await liar.register(tracker.announce, meta.infoHash);
    const listed = await trackerPeers(tracker.port, meta.infoHashHex);
    assert.ok(listed.some((p) => p.port === liar.port) && listed.some((p) => p.port === seeder.port), `both listed: ${JSON.stringify(listed)}`);

    const req = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '30']);
    await req.proc.waitFor(new RegExp(`^Banned peer ${esc(liar.label)}: `, 'm'), 30_000);
    await sleep(300); // requests already on the wire when the ban was decided
    const atBan = liar.pieceRequests.length;
    const bitfieldsAtBan = liar.bitfieldRequests();
    assert.equal(req.proc.child.exitCode, null, 'banned while the download goes on');

    // The download goes on for a while (the tracker lists the liar again every second).
    assert.equal(await exitWithin(req.proc, 60_000, 'requester'), 0, `requester\nstdout:\n${req.proc.out()}\nstderr:\n${req.proc.err()}`);
    const out = req.proc.out();
    const failed = out.match(new RegExp(`^Piece \\d+ failed its SHA-1 check \\(from ${esc(liar.label)}\\)`, 'gm')) ?? [];
    t.diagnostic(`liar got ${liar.pieceRequests.length} piece requests (${atBan} when banned); ${failed.length} pieces failed`);
    assert.ok(failed.length >= 1, `a "Piece N failed its SHA-1 check (from ${liar.label})" line:\n${out}`);
    assert.match(out, new RegExp(`^Banned peer ${esc(liar.label)}: sent piece \\d+, which failed its SHA-1 check`, 'm'));
    assert.equal(liar.pieceRequests.length, atBan, 'no piece request reached the liar after the ban');
    assert.equal(liar.bitfieldRequests(), bitfieldsAtBan, 'nor a bitfield request (it is not taken back as a source)');
    assert.ok(atBan <= 12, `the liar got only a few requests (${atBan})`);
    assert.equal(await sha1File(path.join(dir, 'dl', 'lie.bin')), sha1(data), 'bytes equal the original');
    assert.deepEqual(await readdir(path.join(dir, 'dl')), ['lie.bin']);
  } finally {
    await scope.dispose();
  }
});

test('faults: a stalling peer costs at most a timeout; --request-timeout 2 completes quickly and exactly', { timeout: 90_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-faults-');
    const data = randomBytes(8 * MiB + 4321);
    await writeFile(path.join(dir, 'stall.bin'), data);
    const tracker = await startTracker(dir, ['--interval', '1']);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'stall.bin', tracker.announce, ['--piece-length', '256K', '--max-upload-rate', '8M']);
    const meta = parseMetainfo(await readFile(seeder.torrent));
    const staller = await scope.badPeer({
      infoHashHex: meta.infoHashHex,
      pieceLength: meta.pieceLength,
      parts: [{ path: path.join(dir, 'stall.bin'), length: data.length }],
      mode: 'stall',
    });
    await staller.register(tracker.announce, meta.infoHash);

    const t0 = Date.now();
    const req = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '30', '--request-timeout', '2']);
    assert.equal(await exitWithin(req.proc, 30_000, 'requester'), 0, `requester\nstdout:\n${req.proc.out()}\nstderr:\n${req.proc.err()}`);
    const took = Date.now() - t0;
    t.diagnostic(`completed in ${took} ms; the stalling peer got ${staller.pieceRequests.length} piece requests`);
    assert.ok(staller.pieceRequests.length > 0, 'the stalling peer was asked for pieces');
    assert.ok(took < 30_000, `took ${took} ms`);
    assert.equal(await sha1File(path.join(dir, 'dl', 'stall.bin')), sha1(data), 'bytes equal the original');
    assert.deepEqual(await readdir(path.join(dir, 'dl')), ['stall.bin']);
  } finally {
    await scope.dispose();
  }
});

test('faults: a stalling peer alone is dropped after --request-timeout; a seeder that starts later finishes the download', { timeout: 90_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-faults-');
    const data = randomBytes(4 * MiB + 99);
    await writeFile(path.join(dir, 'late.bin'), data);
    const tracker = await startTracker(dir, ['--interval', '1']);
    scope.adopt(tracker.proc);
    // The torrent the seeder will make (same file, piece length, announce: same info_hash).
    const torrent = await makeSingleFileTorrent(path.join(dir, 'late.bin'), 'late.bin', { announce: tracker.announce, pieceLength: 256 * KiB });
    await writeFile(path.join(dir, 'late.torrent'), torrent);
    const meta = parseMetainfo(torrent);
    const staller = await scope.badPeer({
      infoHashHex: meta.infoHashHex,
      pieceLength: meta.pieceLength,
      parts: [{ path: path.join(dir, 'late.bin'), length: data.length }],
      mode: 'stall',
    });
    await staller.register(tracker.announce, meta.infoHash);

    const t0 = Date.now();
    const req = await startRequester(scope, dir, 'late.torrent', ['--out', 'dl', '--no-seed', '--wait', '30', '--request-timeout', '2']);
    // Only the staller so far: its requests must time out (2 s) and it must be dropped.
    await req.proc.waitFor(new RegExp(`^Dropped peer ${esc(staller.label)}: `, 'm'), 15_000);
    const droppedAfter = Date.now() - t0;
    assert.ok(staller.pieceRequests.length > 0, 'the stalling peer was asked for pieces');
    assert.equal(req.proc.child.exitCode, null, 'still waiting for a usable peer');

    const seeder = await startSeeder(scope, dir, 'late.bin', tracker.announce, ['--piece-length', '256K']);
    assert.equal(seeder.infoHash, meta.infoHashHex);
    assert.equal(await exitWithin(req.proc, 30_000, 'requester'), 0, `requester\nstdout:\n${req.proc.out()}\nstderr:\n${req.proc.err()}`);
    const took = Date.now() - t0;
    t.diagnostic(`staller dropped after ${droppedAfter} ms; completed after ${took} ms; staller got ${staller.pieceRequests.length} piece requests`);
    assert.ok(took < 30_000, `took ${took} ms`);
    assert.equal(await sha1File(path.join(dir, 'dl', 'late.bin')), sha1(data), 'bytes equal the original');
  } finally {
    await scope.dispose();
  }
});

test('faults: disk full (1 MiB tmpfs) -> non-zero exit, clear message, nothing at the final name', { timeout: 60_000 }, async (t) => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    const msg = 'needs root on Linux to mount a tmpfs';
    if (process.env['CI'] === 'true') throw new Error(`${msg} (CI runs as root)`);
    t.skip(msg);
    return;
  }
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-faults-');
    const data = randomBytes(4 * MiB);
    await writeFile(path.join(dir, 'full.bin'), data);
    const mnt = path.join(dir, 'small');
    await mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (e) {
      const msg = `cannot mount a tmpfs here: ${(e as Error).message.split('\n')[0]}`;
      if (process.env['CI'] === 'true') throw new Error(msg);
      t.skip(msg);
      return;
    }
    // Registered after the temp dir: runs before its removal, after every process is killed.
    scope.defer(() => {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    });

    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'full.bin', tracker.announce, ['--piece-length', '256K']);
    const req = await startRequester(scope, dir, seeder.torrent, ['--out', mnt, '--no-seed', '--wait', '10']);
    const code = await exitWithin(req.proc, 40_000, 'requester');
    const err = req.proc.err();
    t.diagnostic(`exit ${code}; stderr: ${err.trim()}`);
    assert.notEqual(code, 0, `non-zero exit\nstdout:\n${req.proc.out()}\nstderr:\n${err}`);
    assert.notEqual(code, null);
    assert.match(err, /^Error: cannot write to disk: Disk full at .*full\.bin\.part$/m, 'says the disk is full, and where');
    assert.doesNotMatch(err, /ENOSPC/, 'no errno code');
    assert.doesNotMatch(err, /^\s+at /m, 'no stack trace');
    assert.equal(err.trim().split('\n').length, 1, 'one line');
    assert.doesNotMatch(req.proc.out(), /File downloaded/);
    assert.equal(await exists(path.join(mnt, 'full.bin')), false, 'nothing at the final name');
  } finally {
    await scope.dispose();
  }
});

test(
  'faults: --out under a regular file -> non-zero exit, clear message, nothing created',
  // Found a stack trace here (exists() rethrew ENOTDIR); fixed in 79e1e74.
  { timeout: 30_000 },
  async () => {
    const scope = new Scope();
    try {
      const dir = await scope.dir('p2p-faults-');
      const data = randomBytes(100 * KiB);
      await writeFile(path.join(dir, 'x.bin'), data);
      // No tracker needed: the requester must fail before it asks for peers.
      const torrent = await makeSingleFileTorrent(path.join(dir, 'x.bin'), 'x.bin', { announce: 'http://127.0.0.1:9/announce', pieceLength: 16 * KiB });
      await writeFile(path.join(dir, 'x.torrent'), torrent);
      await writeFile(path.join(dir, 'afile'), 'I am a file\n');

      const req = await startRequester(scope, dir, 'x.torrent', ['--out', 'afile/sub', '--no-seed', '--wait', '5']);
      const code = await exitWithin(req.proc, 20_000, 'requester');
      const err = req.proc.err();
      assert.notEqual(code, 0, `non-zero exit\nstdout:\n${req.proc.out()}\nstderr:\n${err}`);
      assert.notEqual(code, null);
      assert.match(err, /afile\/sub/, 'names the folder');
      assert.match(err, /cannot write|ENOTDIR|not a directory/i, 'says why');
      assert.doesNotMatch(err, /^\s+at /m, 'no stack trace');
      assert.equal(err.trim().split('\n').length, 1, 'one line');
      assert.equal(await readFile(path.join(dir, 'afile'), 'utf8'), 'I am a file\n', 'the file is untouched');
      assert.deepEqual((await readdir(dir)).sort(), ['afile', 'x.bin', 'x.torrent'], 'nothing else created');
    } finally {
      await scope.dispose();
    }
  },
);
