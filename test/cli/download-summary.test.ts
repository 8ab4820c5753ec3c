import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downloadSummary, formatDuration } from '../../src/cli/download-summary.ts';

const MiB = 1024 * 1024;

test('size, time, average rate and sources, peers apart from web seeds', () => {
  const sources = new Map([
    ['127.0.0.1:6881', { pieces: 10, bytes: 3 * MiB }],
    ['web seed http://127.0.0.1:6881/', { pieces: 2, bytes: 1 * MiB }],
    ['127.0.0.1:6883', { pieces: 0, bytes: 0 }],
  ]);
  assert.equal(downloadSummary({ fetched: 4 * MiB, size: 4 * MiB, ms: 2000, sources }), 'Downloaded 4.0 MiB in 2.0 s (2.0 MiB/s on average) from 2 sources (1 peer, 1 web seed)');
});

test('a resumed download says what it fetched of the whole', () => {
  const sources = new Map([['a:1', { pieces: 1, bytes: MiB }], ['b:2', { pieces: 1, bytes: MiB }]]);
  assert.equal(downloadSummary({ fetched: 2 * MiB, size: 8 * MiB, ms: 4000, sources }), 'Downloaded 2.0 MiB (of 8.0 MiB; the rest was already here) in 4.0 s (512.0 KiB/s on average) from 2 sources (2 peers)');
});

test('durations', () => {
  assert.equal(formatDuration(250), '0.3 s');
  assert.equal(formatDuration(42_400), '42 s');
  assert.equal(formatDuration(65_000), '1m05s');
  assert.equal(formatDuration(3_725_000), '1h02m');
});
