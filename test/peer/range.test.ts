import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange } from '../../src/peer/range.ts';

describe('parseRange', () => {
  test('none when the header is absent or another unit', () => {
    assert.deepEqual(parseRange(undefined, 100), { kind: 'none' });
    assert.deepEqual(parseRange('items=0-9', 100), { kind: 'none' });
    assert.deepEqual(parseRange('bits=0-9', 100), { kind: 'none' });
    assert.deepEqual(parseRange('', 100), { kind: 'none' });
    assert.deepEqual(parseRange('bytes', 100), { kind: 'none' });
  });

  test('bytes=0-9', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'range', start: 0, end: 9 });
  });

  test('a single byte and the last byte', () => {
    assert.deepEqual(parseRange('bytes=0-0', 100), { kind: 'range', start: 0, end: 0 });
    assert.deepEqual(parseRange('bytes=99-99', 100), { kind: 'range', start: 99, end: 99 });
  });

  test('open end: bytes=5-', () => {
    assert.deepEqual(parseRange('bytes=5-', 100), { kind: 'range', start: 5, end: 99 });
    assert.deepEqual(parseRange('bytes=0-', 1), { kind: 'range', start: 0, end: 0 });
  });

  test('suffix: bytes=-3', () => {
    assert.deepEqual(parseRange('bytes=-3', 100), { kind: 'range', start: 97, end: 99 });
    assert.deepEqual(parseRange('bytes=-100', 100), { kind: 'range', start: 0, end: 99 });
  });

  test('suffix longer than the file gives the whole file', () => {
    assert.deepEqual(parseRange('bytes=-500', 100), { kind: 'range', start: 0, end: 99 });
  });

  test('end clamped to size-1', () => {
    assert.deepEqual(parseRange('bytes=90-200', 100), { kind: 'range', start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=0-9999999999999999', 100), { kind: 'range', start: 0, end: 99 });
  });

  test('unit is case-insensitive, whitespace tolerated', () => {
    assert.deepEqual(parseRange('Bytes=1-2', 100), { kind: 'range', start: 1, end: 2 });
    assert.deepEqual(parseRange('BYTES=1-2', 100), { kind: 'range', start: 1, end: 2 });
    assert.deepEqual(parseRange('  bytes= 1 - 2 ', 100), { kind: 'range', start: 1, end: 2 });
  });

  test('unsatisfiable: start at or past the end (closed range)', () => {
    assert.deepEqual(parseRange('bytes=100-200', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=100-100', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=500-600', 100), { kind: 'unsatisfiable' });
  });

  test(
    'unsatisfiable: open-ended range starting at or past the end',
    () => {
      assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
      assert.deepEqual(parseRange('bytes=500-', 100), { kind: 'unsatisfiable' });
      assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    },
  );

  test('unsatisfiable: bytes=-0', () => {
    assert.deepEqual(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
  });

  test('unsatisfiable: empty file', () => {
    assert.deepEqual(parseRange('bytes=-5', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=0-0', 0), { kind: 'unsatisfiable' });
  });

  test('unsatisfiable: multiple ranges', () => {
    assert.deepEqual(parseRange('bytes=0-1,3-4', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=0-1, 3-4', 100), { kind: 'unsatisfiable' });
  });

  for (const h of [
    'bytes=9-5',
    'bytes=abc',
    'bytes=-',
    'bytes=1-2-3',
    'bytes=',
    'bytes=a-5',
    'bytes=1-b',
    'bytes=+1-2',
    'bytes=1.5-2',
    'bytes=-x',
    'bytes=--1',
    'bytes=0x1-2',
    'bytes=12345678901234567890-',
    'bytes=0-12345678901234567890',
    'bytes=-12345678901234567890',
    'bytes=99999999999999999999-99999999999999999999',
  ]) {
    test(`invalid: ${h}`, () => {
      assert.deepEqual(parseRange(h, 100), { kind: 'invalid' });
    });
  }

  test('numbers up to 16 digits are accepted for large files', () => {
    const size = 2 ** 40;
    assert.deepEqual(parseRange('bytes=1099511627775-', size), { kind: 'range', start: size - 1, end: size - 1 });
    assert.deepEqual(parseRange('bytes=-1099511627776', size), { kind: 'range', start: 0, end: size - 1 });
  });
});
