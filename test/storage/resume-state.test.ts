/**
 * Interrupted downloads resume from the state file `<name>.part.state`:
 *  - SIGKILL mid-download, then a second run completes without refetching any recorded piece
 *    (the seeder's upload counter bounds what run 2 fetched);
 *  - SIGTERM mid-download: non-zero exit with a message saying it can resume; run 2 finishes;
 *  - a sparse 5 GiB file (offsets past 4 GiB), killed partway and resumed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTracker } from '../support/procs.ts';
import {
  Scope,
  exitWithin,
  peerStats,
  recordedPieces,
  sha1,
  sha1File,
  sleep,
  startRequester,
  startSeeder,
  until,
} from '../support/bad-peers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  const h = await open(file, 'r');
  try {
    const b = Buffer.alloc(length);
    const { bytesRead } = await h.read(b, 0, length, offset);
    return b.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}

test('resume: requester SIGKILLed mid-download; run 2 completes and refetches no recorded piece', { timeout: 120_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-resume-');
    const size = 48 * MiB;
    const pieceLength = 256 * KiB;
    const pieceCount = size / pieceLength;
    const data = randomBytes(size);
    await writeFile(path.join(dir, 'big.bin'), data);

    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    // One source only (no web seed beside the peer API), so the seeder's upload counter is
    // exactly what the requester fetched: no endgame duplicates between two sources.
    const seeder = await startSeeder(scope, dir, 'big.bin', tracker.announce, ['--piece-length', '256K', '--max-upload-rate', '16M', '--no-web-seed']);
    const stateFile = path.join(dir, 'dl', 'big.bin.part.state');

    // Run 1: killed once the state file records some pieces.
    const run1 = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '30']);
    await until(async () => {
      assert.equal(run1.proc.child.exitCode, null, `run 1 ended before it was killed\nstdout:\n${run1.proc.out()}\nstderr:\n${run1.proc.err()}`);
      return ((await recordedPieces(stateFile))?.count ?? 0) > 0;
    }, 30_000, 'the state file to record a piece', 20);
    run1.proc.kill('SIGKILL');
    assert.equal(await run1.proc.exited, null, 'run 1 died of SIGKILL');
    assert.doesNotMatch(run1.proc.out(), /File downloaded/, 'run 1 had not finished');

    const recorded = await recordedPieces(stateFile);
    assert.ok(recorded, 'the state file is readable after SIGKILL');
    assert.equal(recorded.pieceCount, pieceCount);
    assert.ok(recorded.count > 0 && recorded.count < pieceCount, `recorded ${recorded.count}/${pieceCount} pieces: partway`);
    // Every recorded piece really is on disk (the state never records more than was written).
    const part = path.join(dir, 'dl', 'big.bin.part');
    assert.equal((await stat(part)).size, size);
    for (let i = 0; i < pieceCount; i++) {
      if (!recorded.have(i)) continue;
      const got = await readAt(part, i * pieceLength, pieceLength);
      assert.ok(got.equals(data.subarray(i * pieceLength, (i + 1) * pieceLength)), `recorded piece ${i} is on disk`);
    }

    // Let the seeder's last chunks for run 1 drain before taking the baseline.
    await sleep(500);
    const before = (await peerStats(seeder.port)).uploaded;

    // A SIGKILL can also land while the state is being saved: a half-written temp file is left
    // beside the state (found by the swarm soak). Run 2 must ignore it and clean it up.
    await writeFile(`${stateFile}.tmp`, 'half-written state from a kill mid-save');

    const run2 = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '30']);
    assert.equal(await exitWithin(run2.proc, 60_000, 'run 2'), 0, `run 2 exit code\nstdout:\n${run2.proc.out()}\nstderr:\n${run2.proc.err()}`);
    assert.match(run2.proc.out(), new RegExp(`^Resuming: ${recorded.count} of ${pieceCount} pieces already verified$`, 'm'));
    const delta = (await peerStats(seeder.port)).uploaded - before;
    const bound = (pieceCount - recorded.count) * pieceLength;
    t.diagnostic(`run 1 recorded ${recorded.count}/${pieceCount} pieces; run 2 fetched ${delta} bytes (bound ${bound})`);
    assert.ok(delta > 0, 'run 2 fetched something');
    assert.ok(delta <= bound, `run 2 fetched ${delta} bytes, more than the ${bound} bytes of unrecorded pieces: it refetched recorded pieces`);

    assert.equal(await sha1File(path.join(dir, 'dl', 'big.bin')), sha1(data), 'bytes equal the original');
    assert.deepEqual(await readdir(path.join(dir, 'dl')), ['big.bin'], 'no .part or .state left');
  } finally {
    await scope.dispose();
  }
});

test('resume: requester SIGTERMed mid-download exits non-zero saying it can resume; run 2 finishes', { timeout: 120_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-resume-');
    const size = 24 * MiB + 777;
    const data = randomBytes(size);
    await writeFile(path.join(dir, 'term.bin'), data);

    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'term.bin', tracker.announce, ['--piece-length', '256K', '--max-upload-rate', '8M']);
    const stateFile = path.join(dir, 'dl', 'term.bin.part.state');

    const run1 = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '30']);
    await until(async () => {
      assert.equal(run1.proc.child.exitCode, null, `run 1 ended early\nstdout:\n${run1.proc.out()}\nstderr:\n${run1.proc.err()}`);
      return ((await recordedPieces(stateFile))?.count ?? 0) > 0;
    }, 30_000, 'the state file to record a piece', 20);
    run1.proc.kill('SIGTERM');
    const code = await exitWithin(run1.proc, 10_000, 'run 1 after SIGTERM');
    assert.notEqual(code, 0, 'an interrupted download exits non-zero');
    assert.notEqual(code, null, 'it handles SIGTERM (exits with a status, not killed by the signal)');
    assert.match(run1.proc.err(), /resume/i, 'says it can resume');
    assert.equal(run1.proc.err().trim().split('\n').length, 1, `one line on stderr: ${run1.proc.err()}`);
    assert.doesNotMatch(run1.proc.out(), /File downloaded/);
    const recorded = await recordedPieces(stateFile);
    assert.ok(recorded && recorded.count > 0 && recorded.count < recorded.pieceCount, `state kept after SIGTERM: ${recorded?.count}`);

    const run2 = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '30']);
    assert.equal(await exitWithin(run2.proc, 60_000, 'run 2'), 0, `run 2\nstdout:\n${run2.proc.out()}\nstderr:\n${run2.proc.err()}`);
    assert.match(run2.proc.out(), new RegExp(`^Resuming: ${recorded.count} of ${recorded.pieceCount} pieces already verified$`, 'm'));
    assert.equal(await sha1File(path.join(dir, 'dl', 'term.bin')), sha1(data));
    assert.deepEqual(await readdir(path.join(dir, 'dl')), ['term.bin']);
  } finally {
    await scope.dispose();
  }
});

test('resume: sparse 5 GiB file (offsets past 4 GiB), killed partway and resumed', { timeout: 600_000 }, async (t) => {
  const free = await statfs(os.tmpdir());
  const avail = free.bavail * free.bsize;
  if (avail < 12 * GiB) {
    t.skip(`needs 12 GiB free in ${os.tmpdir()}, has ${(avail / GiB).toFixed(1)} GiB`);
    return;
  }
  const t0 = Date.now();
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-5g-');
    const size = 5 * GiB;
    const src = path.join(dir, 'share', 'huge.bin');
    await mkdir(path.dirname(src));
    const mid = randomBytes(MiB);
    const midAt = 4.5 * GiB;
    const tail = Buffer.from('the last bytes of a 5 GiB file');
    {
      const h = await open(src, 'w');
      try {
        await h.truncate(size);
        await h.write(mid, 0, mid.length, midAt);
        await h.write(tail, 0, tail.length, size - tail.length);
      } finally {
        await h.close();
      }
    }
    scope.defer(() => rm(src, { force: true }));

    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    // --dir is the folder that already holds the file: the seeder shares it in place.
    const seeder = await startSeeder(scope, dir, 'share/huge.bin', tracker.announce, ['--dir', 'share', '--piece-length', '16M'], 300_000);
    assert.deepEqual(await readdir(path.join(dir, 'share')), ['huge.bin'], 'the file was not copied');
    t.diagnostic(`seeder ready after ${Date.now() - t0} ms`);
    const out = path.join(dir, 'dl');
    const result = path.join(out, 'huge.bin');
    scope.defer(() => rm(result, { force: true }));
    scope.defer(() => rm(result + '.part', { force: true }));
    const stateFile = path.join(out, 'huge.bin.part.state');

    const run1 = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '60']);
    await until(async () => {
      assert.equal(run1.proc.child.exitCode, null, `run 1 ended early\nstdout:\n${run1.proc.out()}\nstderr:\n${run1.proc.err()}`);
      return ((await recordedPieces(stateFile))?.count ?? 0) > 0;
    }, 120_000, 'the state file to record a piece', 50);
    run1.proc.kill('SIGKILL');
    await run1.proc.exited;
    const recorded = await recordedPieces(stateFile);
    assert.ok(recorded && recorded.count > 0 && recorded.count < 320, `run 1 recorded ${recorded?.count}/320 pieces`);
    t.diagnostic(`run 1 killed after ${Date.now() - t0} ms with ${recorded.count}/320 pieces recorded`);

    const run2 = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '60']);
    assert.equal(await exitWithin(run2.proc, 400_000, 'run 2'), 0, `run 2\nstdout:\n${run2.proc.out()}\nstderr:\n${run2.proc.err()}`);
    assert.match(run2.proc.out(), new RegExp(`^Resuming: ${recorded.count} of 320 pieces already verified$`, 'm'));
    t.diagnostic(`run 2 done after ${Date.now() - t0} ms`);

    assert.equal((await stat(result)).size, size);
    assert.ok((await readAt(result, midAt, MiB)).equals(mid), 'the 1 MiB at 4.5 GiB is exact');
    assert.ok((await readAt(result, size - tail.length, tail.length)).equals(tail), 'the last bytes are exact');
    assert.ok((await readAt(result, 4 * GiB - 8, 16)).equals(Buffer.alloc(16)), 'zeros across the 4 GiB boundary');
    const [a, b] = await Promise.all([sha1File(src), sha1File(result)]);
    assert.equal(b, a, 'SHA-1 of the whole result equals the source');
    assert.deepEqual(await readdir(out), ['huge.bin']);
    t.diagnostic(`5 GiB test took ${Date.now() - t0} ms`);
  } finally {
    await scope.dispose();
  }
});
