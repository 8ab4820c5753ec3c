/**
 * Seeding without a second copy (issue #18): the seeder links the data into its folder (or serves
 * it where it is), and never clobbers a `.torrent` that describes other data.
 *  - 1 GiB shared with the default flow: the blocks allocated in its folder barely grow, the requester's bytes exact;
 *  - a second seeder of other data under the same name keeps the first one's torrents;
 *  - data on another filesystem (/dev/shm) is served in place, and said so;
 *  - `--copy` makes the report's full copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { startTracker } from '../support/procs.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { Scope, exitWithin, sha1File, startRequester, startSeeder } from '../support/bad-peers.ts';

const MiB = 1024 * 1024;

/** A file of `mib` MiB whose pieces all differ (a random MiB, each copy stamped with its index). */
async function writeBigFile(file: string, mib: number): Promise<void> {
  const block = randomBytes(MiB);
  const out = createWriteStream(file);
  for (let i = 0; i < mib; i++) {
    block.writeUInt32BE(i, 0);
    if (!out.write(Buffer.from(block))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/**
 * Bytes allocated on disk under `dir`, each inode counted once (hard links share one). Measured
 * in the test's own folder, so other programs writing to the same disk meanwhile do not count
 * (the disk's free blocks did: a test beside this one downloading 1 GiB showed up here).
 */
async function allocatedBytes(dir: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const s = await lstat(p);
    const id = `${s.dev}:${s.ino}`;
    if (seen.has(id)) continue;
    seen.add(id);
    total += s.blocks * 512 + (e.isDirectory() ? await allocatedBytes(p, seen) : 0);
  }
  return total;
}

test('1 GiB shared with the default flow takes no second GiB of disk; the download is exact', { timeout: 240_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-inplace-');
    await writeBigFile(path.join(dir, 'big.bin'), 1024);
    const announce = `http://127.0.0.1:${await startTrackerPort(scope, dir)}/announce`;
    const before = await allocatedBytes(dir);
    const seeder = await startSeeder(scope, dir, 'big.bin', announce, [], 180_000);
    const used = (await allocatedBytes(dir)) - before;
    assert.ok(used < 128 * MiB, `sharing 1 GiB used ${(used / MiB).toFixed(0)} MiB of disk (a copy would use 1024)`);
    const [orig, served] = await Promise.all([stat(path.join(dir, 'big.bin')), stat(path.join(dir, `peer_${seeder.port}`, 'big.bin'))]);
    assert.equal(served.ino, orig.ino, 'the seeder folder holds a hard link to the data');
    const req = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '60']);
    assert.equal(await exitWithin(req.proc, 180_000, 'requester'), 0, req.proc.err());
    assert.equal(await sha1File(path.join(dir, 'dl', 'big.bin')), await sha1File(path.join(dir, 'big.bin')), 'bytes exact');
  } finally {
    await scope.dispose();
  }
});

/** A tracker in `dir`, owned by `scope`; resolves with its port. */
async function startTrackerPort(scope: Scope, dir: string): Promise<number> {
  const t = await startTracker(dir);
  scope.adopt(t.proc);
  return t.port;
}

test('a second seeder of other data with the same name keeps the first torrent; the same data reuses it', { timeout: 120_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-names-');
    const announce = `http://127.0.0.1:${await startTrackerPort(scope, dir)}/announce`;
    await writeFile(path.join(dir, 'x.bin'), randomBytes(300_000));
    const first = await startSeeder(scope, dir, 'x.bin', announce);
    const firstTorrent = await readFile(path.join(dir, 'peer_6882', 'x.bin.torrent'));
    assert.equal(parseMetainfo(firstTorrent).infoHashHex, first.infoHash);

    // Other data under the same name, from another folder, on another port.
    const other = path.join(dir, 'other');
    await mkdir(other);
    await writeFile(path.join(other, 'x.bin'), randomBytes(200_000));
    const second = await startSeeder(scope, dir, path.join('other', 'x.bin'), announce);
    assert.notEqual(second.infoHash, first.infoHash);
    const renamed = `x.bin.${second.infoHash.slice(0, 8)}.torrent`;
    assert.match(second.proc.out(), new RegExp(`^\\.torrent file created: ${renamed.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(second.proc.out(), /x\.bin\.torrent describes other data: kept/);
    assert.equal(parseMetainfo(await readFile(path.join(dir, 'x.bin.torrent'))).infoHashHex, first.infoHash, 'first torrent kept here');
    assert.equal(parseMetainfo(await readFile(path.join(dir, 'peer_6882', 'x.bin.torrent'))).infoHashHex, first.infoHash, 'and in the requester folder');
    assert.equal(parseMetainfo(await readFile(path.join(dir, 'peer_6882', renamed))).infoHashHex, second.infoHash);

    // The first data again, from a third seeder: same info_hash, so x.bin.torrent is reused.
    const third = await startSeeder(scope, dir, 'x.bin', announce);
    assert.equal(third.infoHash, first.infoHash);
    assert.match(third.proc.out(), /^\.torrent file created: x\.bin\.torrent$/m);
    assert.doesNotMatch(third.proc.out(), /describes other data/);
  } finally {
    await scope.dispose();
  }
});

test('data on another filesystem is served where it is; --copy makes a full copy', { timeout: 120_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-elsewhere-');
    const shm = await stat('/dev/shm').catch(() => null);
    if (!shm || shm.dev === (await stat(dir)).dev) return t.skip('no second filesystem (/dev/shm) here');
    const announce = `http://127.0.0.1:${await startTrackerPort(scope, dir)}/announce`;
    const elsewhere = path.join('/dev/shm', `p2p-inplace-${process.pid}.bin`);
    scope.defer(() => rm(elsewhere, { force: true }));
    await writeFile(elsewhere, randomBytes(500_000));
    const seeder = await startSeeder(scope, dir, elsewhere, announce);
    assert.match(seeder.proc.out(), new RegExp(`^Serving ${elsewhere.replaceAll('.', '\\.')} where it is`, 'm'));
    await assert.rejects(stat(path.join(dir, `peer_${seeder.port}`, path.basename(elsewhere))), 'nothing copied');
    const req = await startRequester(scope, dir, path.join(dir, `${path.basename(elsewhere)}.torrent`), ['--out', 'dl', '--no-seed', '--wait', '30']);
    assert.equal(await exitWithin(req.proc, 60_000, 'requester'), 0, req.proc.err());
    assert.equal(await sha1File(path.join(dir, 'dl', path.basename(elsewhere))), await sha1File(elsewhere));

    await writeFile(path.join(dir, 'c.bin'), randomBytes(100_000));
    const copier = await startSeeder(scope, dir, 'c.bin', announce, ['--copy']);
    const [orig, copy] = await Promise.all([stat(path.join(dir, 'c.bin')), stat(path.join(dir, `peer_${copier.port}`, 'c.bin'))]);
    assert.notEqual(copy.ino, orig.ino, '--copy: a copy of its own');
    assert.equal(await sha1File(path.join(dir, `peer_${copier.port}`, 'c.bin')), await sha1File(path.join(dir, 'c.bin')));
  } finally {
    await scope.dispose();
  }
});
