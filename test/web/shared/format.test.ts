import test from 'node:test';
import assert from 'node:assert/strict';
import { formatAgo, formatBytes, formatCount, formatDuration, formatRate } from '../../../src/web/shared/format.ts';

test('formatCount groups thousands and shows a dash for no number', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatCount(-1234), '-1,234');
  assert.equal(formatCount(999.6), '1,000');
  assert.equal(formatCount(null), '–');
  assert.equal(formatCount(Number.NaN), '–');
});

test('formatRate: digits by size', () => {
  assert.equal(formatRate(0), '0');
  assert.equal(formatRate(0.25), '0.25');
  assert.equal(formatRate(3.54), '3.5');
  assert.equal(formatRate(1234.4), '1,234');
  assert.equal(formatRate(Infinity), '–');
});

test('formatBytes: binary units', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(100 * 1024 * 1024), '100 MiB');
  assert.equal(formatBytes(-1), '–');
});

test('formatDuration: two units at most, zero units inside left out', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(9.7), '9s');
  assert.equal(formatDuration(250), '4m 10s');
  assert.equal(formatDuration(7200), '2h');
  assert.equal(formatDuration(3 * 86400 + 4 * 3600 + 59), '3d 4h');
  assert.equal(formatDuration(-1), '–');
});

test('formatAgo', () => {
  assert.equal(formatAgo(0, 1000), 'never');
  assert.equal(formatAgo(1000, 1500), 'just now');
  assert.equal(formatAgo(1000, 66_000), '1m 5s ago');
});
