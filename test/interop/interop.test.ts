/**
 * Interoperability with other BitTorrent tools: mktorrent (same info_hash for the same file and
 * piece length), transmission-show (reads our .torrent), and our requester on mktorrent's torrent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, requireProgram, runCli, startTracker, TestScope, type Proc } from '../support/procs.ts';
import { makeTorrent as makeSingleFileTorrent } from '../../src/metainfo/create.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';

const run = promisify(execFile);

const scope = new TestScope('p2p-interop-');
const spawnCli = (...args: Parameters<typeof runCli>): Proc => scope.spawn(...args);

/** A fresh temp dir (removed in `after`) to run programs in. */
const workDir = (): Promise<string> => scope.dir();

/** mktorrent writes `out` for `file` (relative to `dir`) with 2^log2 pieces. */
async function mktorrent(dir: string, file: string, log2: number, announce: string, out: string): Promise<Buffer> {
  await run('mktorrent', ['-l', String(log2), '-a', announce, '-o', out, file], { cwd: dir });
  return readFile(path.join(dir, out));
}

/** Start our seeder on `file` (positional) and wait until it serves; returns its printed info hash. */
async function startSeeder(dir: string, file: string, announce: string, pieceLength: string): Promise<{ proc: Proc; port: number; infoHash: string }> {
  const port = await freePort();
  const proc = spawnCli('seeder', [file, '--port', String(port), '--tracker', announce, '--piece-length', pieceLength], { cwd: dir });
  const m = await proc.waitFor(/^Info hash: ([0-9a-f]{40})$/m);
  await proc.waitFor(/^Successfully registered with tracker\.$/m);
  await proc.waitFor(new RegExp(`^\\* Running on http://127\\.0\\.0\\.1:${port}$`, 'm'));
  return { proc, port, infoHash: m[1]! };
}

/** Stop a seeder. Its exit status is checked in test/e2e/e2e.test.ts, not here. */
async function stop(p: Proc): Promise<void> {
  p.kill('SIGTERM');
  await p.exited;
}

let tracker: Awaited<ReturnType<typeof startTracker>>;
let shared: { dir: string; file: string; data: Buffer };

before(async () => {
  tracker = await startTracker(await workDir());
  scope.track(tracker.proc);
  const dir = await workDir();
  // ~3 MB, not a multiple of any piece length used here (the last piece is short).
  const data = randomBytes(3 * 1000 * 1000 + 123);
  await writeFile(path.join(dir, 'sample.bin'), data);
  shared = { dir, file: 'sample.bin', data };
});

after(() => scope.cleanup());

const pieceLengths = [
  { flag: '32K', log2: 15 },
  { flag: '256K', log2: 18 },
  { flag: '1M', log2: 20 },
];

describe('info_hash equals mktorrent\'s', { concurrency: true }, () => {
  for (const pl of pieceLengths) {
    test(`makeSingleFileTorrent, piece length ${pl.flag}`, async (t) => {
      if (!requireProgram(t, 'mktorrent', 'mktorrent')) return;
      const theirs = parseMetainfo(await mktorrent(shared.dir, shared.file, pl.log2, tracker.announce, `mk-lib-${pl.flag}.torrent`));
      const ours = parseMetainfo(
        await makeSingleFileTorrent(path.join(shared.dir, shared.file), shared.file, { announce: tracker.announce, pieceLength: 2 ** pl.log2 }),
      );
      assert.equal(theirs.pieceLength, 2 ** pl.log2);
      assert.equal(ours.infoHashHex, theirs.infoHashHex);
      assert.deepEqual(ours.rawInfo, theirs.rawInfo, 'identical info dictionaries');
      assert.equal(ours.announce, theirs.announce);
    });

    test(`seeder CLI's printed Info hash, --piece-length ${pl.flag}`, async (t) => {
      if (!requireProgram(t, 'mktorrent', 'mktorrent')) return;
      const dir = await workDir();
      await writeFile(path.join(dir, shared.file), shared.data);
      const theirs = parseMetainfo(await mktorrent(dir, shared.file, pl.log2, tracker.announce, `mk-${pl.flag}.torrent`));
      const seeder = await startSeeder(dir, shared.file, tracker.announce, pl.flag);
      try {
        assert.equal(seeder.infoHash, theirs.infoHashHex);
        const written = parseMetainfo(await readFile(path.join(dir, `${shared.file}.torrent`)));
        assert.equal(written.infoHashHex, theirs.infoHashHex, 'the .torrent the seeder wrote has the same info_hash');
      } finally {
        await stop(seeder.proc);
      }
    });
  }
});

test('transmission-show reads the seeder\'s .torrent', async (t) => {
  if (!requireProgram(t, 'transmission-show', 'transmission-cli')) return;
  const dir = await workDir();
  await writeFile(path.join(dir, shared.file), shared.data);
  const seeder = await startSeeder(dir, shared.file, tracker.announce, '256K');
  try {
    const { stdout } = await run('transmission-show', [`${shared.file}.torrent`], { cwd: dir });
    const pieceCount = Math.ceil(shared.data.length / (256 * 1024));
    assert.match(stdout, new RegExp(`^\\s*Hash(?: v1)?: ${seeder.infoHash}$`, 'mi'), stdout);
    assert.match(stdout, /^\s*Name: sample\.bin$/m, stdout);
    assert.match(stdout, new RegExp(`^\\s*Piece Count: ${pieceCount}$`, 'm'), stdout);
    assert.match(stdout, /^\s*Piece Size: 256(\.0)? KiB$/m, stdout);
    assert.ok(stdout.includes(tracker.announce), `announce URL listed:\n${stdout}`);
  } finally {
    await stop(seeder.proc);
  }
});

test('our requester downloads with a torrent made by mktorrent', async (t) => {
  if (!requireProgram(t, 'mktorrent', 'mktorrent')) return;
  const dir = await workDir();
  await writeFile(path.join(dir, shared.file), shared.data);
  await mktorrent(dir, shared.file, 18, tracker.announce, 'by-mktorrent.torrent');
  const theirs = parseMetainfo(await readFile(path.join(dir, 'by-mktorrent.torrent')));
  const seeder = await startSeeder(dir, shared.file, tracker.announce, '256K');
  try {
    assert.equal(seeder.infoHash, theirs.infoHashHex);
    const req = spawnCli('requester', ['by-mktorrent.torrent', '--port', String(await freePort()), '--out', 'dl', '--no-seed', '--wait', '20'], { cwd: dir });
    assert.equal(await req.exited, 0, `stdout:\n${req.out()}\nstderr:\n${req.err()}`);
    assert.match(req.out(), new RegExp(`Retrieved info_hash: ${theirs.infoHashHex}`));
    assert.ok(req.out().includes(`Downloading sample.bin from Seeder 127.0.0.1:${seeder.port}`), req.out());
    assert.match(req.out(), /File downloaded: sample\.bin, saved to: dl\/sample\.bin/);
    assert.ok((await readFile(path.join(dir, 'dl', 'sample.bin'))).equals(shared.data), 'file exact');
    assert.deepEqual(await readdir(path.join(dir, 'dl')), ['sample.bin']);
  } finally {
    await stop(seeder.proc);
  }
});
