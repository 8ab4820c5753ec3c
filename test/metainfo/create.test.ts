/** Making a torrent from files (src/metainfo/create.ts): a file's pieces hashed, makeTorrent's output parsed back. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decode, encode, isDict } from '../../src/metainfo/bencode.ts';
import { hashPieces } from '../../src/metainfo/piece-hashing.ts';
import { parseMetainfo, pieceSize, pieceHash } from '../../src/metainfo/metainfo.ts';
import { choosePieceLength } from '../../src/metainfo/build.ts';
import { makeTorrent } from '../../src/metainfo/create.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();

describe('hashPieces over one file / makeTorrent (temp files)', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'metainfo-test-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The pieces of one whole file, as makeTorrent hashes a single file. */
  async function hashFilePieces(file: string, pieceLength: number): Promise<{ pieces: Buffer; length: number }> {
    const { size } = await stat(file);
    return { pieces: await hashPieces([{ path: file, length: size, offset: 0 }], pieceLength), length: size };
  }

  function expectedPieces(data: Buffer, pieceLength: number): Buffer {
    const out: Buffer[] = [];
    for (let at = 0; at < data.length; at += pieceLength) out.push(sha1(data.subarray(at, at + pieceLength)));
    return Buffer.concat(out);
  }

  const P = 16 * KiB;
  const cases: Array<[string, number, number]> = [
    ['1 byte', 1, P],
    ['exactly one piece', P, P],
    ['one piece + 1', P + 1, P],
    ['several pieces, short last', 5 * P + 123, P],
    ['several whole pieces', 4 * P, P],
    ['odd piece length crossing chunks', 1 * MiB + 5000, 1000],
    ['pieces larger than one read chunk', 5 * MiB + 7, 2 * MiB],
  ];
  for (const [label, size, pieceLength] of cases) {
    test(`${label} (${size} bytes, piece ${pieceLength})`, async () => {
      const data = randomBytes(size);
      const file = path.join(dir, `f-${size}-${pieceLength}`);
      await writeFile(file, data);
      const r = await hashFilePieces(file, pieceLength);
      assert.equal(r.length, size);
      assert.equal(r.pieces.length, 20 * Math.ceil(size / pieceLength));
      assert.ok(r.pieces.equals(expectedPieces(data, pieceLength)), `pieces are the SHA-1s of each ${pieceLength}-byte piece of ${size} bytes`);
    });
  }

  test('empty file: no pieces, length 0', async () => {
    const file = path.join(dir, 'empty');
    await writeFile(file, Buffer.alloc(0));
    const r = await hashFilePieces(file, P);
    assert.equal(r.length, 0);
    assert.equal(r.pieces.length, 0);
  });

  test('missing file rejects', async () => {
    await assert.rejects(hashPieces([{ path: path.join(dir, 'does-not-exist'), length: 10, offset: 0 }], P));
    await assert.rejects(makeTorrent(path.join(dir, 'does-not-exist'), 'x', { announce: 'http://t/a', pieceLength: P }));
  });

  test('makeTorrent output parses and matches the data', async () => {
    const data = randomBytes(3 * P + 10);
    const file = path.join(dir, 'made.bin');
    await writeFile(file, data);
    const bytes = await makeTorrent(file, 'made.bin', { announce: 'http://t:1/announce', urlList: ['http://w/made.bin'] });
    const m = parseMetainfo(bytes);
    assert.equal(m.name, 'made.bin');
    assert.equal(m.length, data.length);
    assert.equal(m.pieceLength, choosePieceLength(data.length));
    assert.equal(m.pieceCount, 4);
    assert.ok(m.pieces.equals(expectedPieces(data, P)), 'pieces are the SHA-1s of each piece');
    assert.equal(m.announce, 'http://t:1/announce');
    assert.deepEqual(m.urlList, ['http://w/made.bin']);
    // info_hash is independent of creation date etc.: equals the hash of a minimal info dict.
    const info = encode({ length: data.length, name: 'made.bin', 'piece length': P, pieces: expectedPieces(data, P) });
    assert.ok(m.infoHash.equals(sha1(info)), 'infoHash is the SHA-1 of the minimal info dict');
    const top = decode(bytes);
    assert.ok(isDict(top), 'the .torrent decodes to a dict');
    assert.equal(typeof top['creation date'], 'number');
  });

  test('makeTorrent honours an explicit piece length', async () => {
    const data = randomBytes(100 * KiB);
    const file = path.join(dir, 'explicit.bin');
    await writeFile(file, data);
    const m = parseMetainfo(await makeTorrent(file, 'x', { announce: 'http://t/a', pieceLength: 64 * KiB }));
    assert.equal(m.pieceLength, 64 * KiB);
    assert.equal(m.pieceCount, 2);
    assert.equal(pieceSize(m, 1), 36 * KiB);
    assert.ok(pieceHash(m, 1).equals(sha1(data.subarray(64 * KiB))), 'the hash of the last, shorter piece (36 KiB)');
  });
});
