/** The JSON views: verified bytes, files' progress across piece boundaries, packed piece states, summaries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bitfield } from '../../../src/bittorrent/bitfield.ts';
import type { Metainfo } from '../../../src/metainfo/metainfo.ts';
import { fileViews, MAX_FILES_LISTED, pieceStates, summarize, verifiedBytes } from '../../../src/peer/stats/views.ts';

/** 10 pieces of 100 bytes, the last one 50: files of 120, 0 (pad 30), 700 and 100 bytes. */
function meta(): Metainfo {
  const files = [
    { path: ['a'], length: 120, offset: 0, pad: false },
    { path: ['.pad', '30'], length: 30, offset: 120, pad: true },
    { path: ['dir', 'b'], length: 700, offset: 150, pad: false },
    { path: ['c'], length: 100, offset: 850, pad: false },
  ];
  return { infoHashHex: 'ab'.repeat(20), name: 'multi', pieceLength: 100, pieceCount: 10, length: 950, multiFile: true, files, announce: 'http://t/announce', announceList: [] } as unknown as Metainfo;
}

function have(indices: number[]): Bitfield {
  const b = new Bitfield(10);
  for (const i of indices) b.set(i);
  return b;
}

test('verified bytes count the short last piece at its size', () => {
  assert.equal(verifiedBytes(meta(), have([0, 1])), 200);
  assert.equal(verifiedBytes(meta(), have([9])), 50);
  assert.equal(verifiedBytes(meta(), have([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])), 950);
});

test('each file counts the verified pieces\' overlap with it; pad files are not listed', () => {
  const views = fileViews(meta(), have([1, 8, 9]));
  assert.deepEqual(
    views.map((v) => [v.path, v.verified]),
    [
      ['a', 20],
      ['dir/b', 100], // 50 bytes of piece 1, 50 of piece 8
      ['c', 100],
    ],
  );
  assert.equal(views[2]!.progress, 1);
});

test('at most MAX_FILES_LISTED files are listed', () => {
  const m = meta();
  m.files = Array.from({ length: MAX_FILES_LISTED + 5 }, (_, i) => ({ path: [`f${i}`], length: 0, offset: 0, pad: false }));
  assert.equal(fileViews(m, have([])).length, MAX_FILES_LISTED);
});

test('piece states: the bitfield in base64, pieces in flight that are not verified yet, sorted', () => {
  const p = pieceStates(have([0, 9]), new Set([5, 0, 3]));
  assert.deepEqual(Buffer.from(p.verified, 'base64'), Buffer.from([0x80, 0x40]));
  assert.deepEqual(p.inFlight, [3, 5]);
  assert.equal(p.count, 10);
});

test('summary: progress, ratio (uploaded / size for a seeder), ETA from the download rate', () => {
  const m = meta();
  const leech = summarize(m, have([0, 1, 2, 3, 4]), { downloaded: 600, uploaded: 300, rate: { down: 100, up: 0 }, peers: 2, piecesFailed: 1 });
  assert.equal(leech.progress, 500 / 950);
  assert.equal(leech.ratio, 0.5);
  assert.equal(leech.eta, 5); // 450 bytes left at 100 B/s
  assert.equal(leech.torrentUrl, `/torrent/${m.infoHashHex}.torrent`);
  const seed = summarize(m, have([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), { downloaded: 0, uploaded: 1900, rate: { down: 0, up: 10 }, peers: 1, piecesFailed: 0 });
  assert.equal(seed.ratio, 2);
  assert.equal(seed.eta, null);
  assert.equal(seed.complete, true);
  const idle = summarize(m, have([]), { downloaded: 0, uploaded: 0, rate: { down: 0, up: 0 }, peers: 0, piecesFailed: 0 });
  assert.equal(idle.ratio, null);
  assert.equal(idle.eta, null);
});
