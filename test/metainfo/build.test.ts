/** The pure torrent builder (src/metainfo/build.ts): piece length choice and checks, encoding. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { choosePieceLength, isValidPieceLength, encodeTorrent, MIN_PIECE_LENGTH, MAX_CHOSEN_PIECE_LENGTH } from '../../src/metainfo/build.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

describe('choosePieceLength / isValidPieceLength', () => {
  const pieces = (size: number, p: number): number => Math.ceil(size / p);

  test('tiny files get 16 KiB', () => {
    for (const size of [0, 1, 1000, 16 * KiB, 1 * MiB, 2000 * 16 * KiB]) assert.equal(choosePieceLength(size), 16 * KiB, String(size));
    assert.equal(choosePieceLength(2000 * 16 * KiB + 1), 32 * KiB);
  });

  test('known sizes', () => {
    assert.equal(choosePieceLength(64 * MiB), 64 * KiB);
    assert.equal(choosePieceLength(1 * GiB), 1 * MiB);
    assert.equal(choosePieceLength(10 * GiB), 8 * MiB);
    for (const size of [64 * MiB, 1 * GiB, 10 * GiB]) {
      const n = pieces(size, choosePieceLength(size));
      assert.ok(n >= 1000 && n <= 2000, `${size}: ${n} pieces`);
    }
  });

  test('powers of two within [16 KiB, 16 MiB], 1000-2000 pieces from 32 MiB to 2000 * 16 MiB', () => {
    for (let size = 32 * MiB; size <= 2000 * MAX_CHOSEN_PIECE_LENGTH; size = Math.floor(size * 1.37) + 12345) {
      const p = choosePieceLength(size);
      assert.ok(p >= MIN_PIECE_LENGTH && p <= MAX_CHOSEN_PIECE_LENGTH, `${size} -> ${p}`);
      assert.equal(p & (p - 1), 0, `${p} not a power of two`);
      assert.ok(isValidPieceLength(p), `${p} is a valid piece length`);
      const n = pieces(size, p);
      assert.ok(n >= 1000 && n <= 2000, `${size} -> ${p}: ${n} pieces`);
    }
  });

  test('capped at 16 MiB for huge sizes', () => {
    assert.equal(choosePieceLength(1024 * GiB), 16 * MiB);
    assert.equal(choosePieceLength(Number.MAX_SAFE_INTEGER), 16 * MiB);
    // Exactly 2000 pieces of 16 MiB is the last size that stays within 2000 pieces.
    assert.equal(choosePieceLength(2000 * 16 * MiB), 16 * MiB);
    assert.equal(choosePieceLength(2000 * 8 * MiB), 8 * MiB);
    assert.equal(choosePieceLength(2000 * 8 * MiB + 1), 16 * MiB);
  });

  test('isValidPieceLength: 16K..128M powers of two only', () => {
    for (let e = 14; e <= 27; e++) assert.equal(isValidPieceLength(2 ** e), true, `2^${e}`);
    for (const n of [0, -16384, 1, 2, 8192, 2 ** 29, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 28, 16384 + 1, 3 * 16384, 16384 * 1.5, 16384.5, NaN, Infinity, 2 ** 28 - 1]) {
      assert.equal(isValidPieceLength(n), false, String(n));
    }
  });

  test(
    'every piece length isValidPieceLength accepts gives a torrent parseMetainfo accepts',
    () => {
      for (let e = 14; e <= 27; e++) {
        const pieceLength = 2 ** e;
        assert.ok(isValidPieceLength(pieceLength), `2^${e} = ${pieceLength} is a valid piece length`);
        const bytes = encodeTorrent({ announce: 'http://t/a', name: 'f', length: 1, pieceLength, pieces: Buffer.alloc(20) });
        assert.equal(parseMetainfo(bytes).pieceLength, pieceLength);
      }
    },
  );
});
