/** The peer page's formats, shared by the server-rendered page and the live one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEta, formatPercent, formatRatio, formatSpeed, formatSpeedShort, peerCells, summarySlots } from '../../src/web/peer-format.ts';

test('speeds, ETA, ratio and percent as people read them', () => {
  assert.equal(formatSpeed(1536), '1.5 KiB/s');
  assert.equal(formatSpeed(-3), '0 B/s');
  assert.equal(formatSpeedShort(0), '0');
  assert.equal(formatSpeedShort(512), '512B/s');
  assert.equal(formatSpeedShort(1000 * 1024), '1.0M/s'); // never a four-digit number
  assert.equal(formatSpeedShort(2.9 * 1024 * 1024), '2.9M/s');
  assert.equal(formatEta(null, false), '–');
  assert.equal(formatEta(125, false), '2m 5s');
  assert.equal(formatEta(5, true), 'done');
  assert.equal(formatRatio(null), '–');
  assert.equal(formatRatio(1 / 3), '0.33');
  assert.equal(formatPercent(0.99999), '99.9 %'); // 100.0 % only when complete
  assert.equal(formatPercent(1), '100.0 %');
});

test('cards and peer cells carry the network\'s text unchanged (the page escapes it)', () => {
  const s = summarySlots({ size: 2048, progress: 0.5, complete: false, rate: { down: 1024, up: 0 }, eta: 60, ratio: null, peers: 3, piecesVerified: 5, pieceCount: 10, downloaded: 1024, uploaded: 0, piecesFailed: 1 });
  assert.deepEqual(s, { size: '2.0 KiB', progress: '50.0 %', down: '1.0 KiB/s', up: '0 B/s', eta: '1m', ratio: '–', peers: '3', pieces: '5 / 10', downloaded: '1.0 KiB', uploaded: '0 B', failed: '1' });
  const cells = peerCells({ transport: 'http', also: ['utp'], address: '127.0.0.1:1', client: '<b>x</b>', downRate: 0, upRate: 0, downloaded: 0, uploaded: 0, piecesGiven: 2, has: null });
  assert.deepEqual(cells, ['HTTP API + BitTorrent uTP', '127.0.0.1:1', '<b>x</b>', '0 B/s', '0 B/s', '0 B', '0 B', '2', '–']);
});
