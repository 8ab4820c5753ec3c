/** Stateless connection ids: valid in their window and the next, for that address and port only. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionIds, WINDOW_MS } from '../../../src/tracker/udp/connection-id.ts';

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % WINDOW_MS); // the start of a window

test('an id is valid for its window and the next one, not before, not after', () => {
  const ids = new ConnectionIds(null);
  for (const offset of [0, WINDOW_MS - 1]) {
    const id = ids.mint('127.0.0.1', 6881, T0 + offset);
    assert.equal(id.length, 8);
    assert.equal(ids.verify(id, '127.0.0.1', 6881, T0 + offset), true);
    assert.equal(ids.verify(id, '127.0.0.1', 6881, T0 + WINDOW_MS), true, 'the next window');
    assert.equal(ids.verify(id, '127.0.0.1', 6881, T0 + 2 * WINDOW_MS - 1), true, 'the end of the next window');
    assert.equal(ids.verify(id, '127.0.0.1', 6881, T0 + 2 * WINDOW_MS), false, 'two windows later');
    assert.equal(ids.verify(id, '127.0.0.1', 6881, T0 + 3 * WINDOW_MS), false, 'three windows later (same parity as the next)');
    assert.equal(ids.verify(id, '127.0.0.1', 6881, T0 - 1), false, 'the window before');
  }
});

test('another address, another port, a flipped bit, another key: refused', () => {
  const ids = new ConnectionIds(null);
  const id = ids.mint('127.0.0.1', 6881, T0);
  assert.equal(ids.verify(id, '127.0.0.2', 6881, T0), false);
  assert.equal(ids.verify(id, '127.0.0.1', 6882, T0), false);
  assert.equal(ids.verify(id, '::ffff:127.0.0.2', 6881, T0), false);
  for (let bit = 0; bit < 64; bit++) {
    const forged = Buffer.from(id);
    forged[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(ids.verify(forged, '127.0.0.1', 6881, T0), false, `bit ${bit}`);
  }
  assert.equal(new ConnectionIds(null).verify(id, '127.0.0.1', 6881, T0), false, 'another random key');
  assert.equal(ids.verify(id.subarray(0, 7), '127.0.0.1', 6881, T0), false);
});

test('an IPv4 client is one client to an IPv4 and a dual-stack socket (::ffff: form)', () => {
  const ids = new ConnectionIds('0123456789abcdef');
  assert.equal(ids.verify(ids.mint('10.0.0.1', 80, T0), '::ffff:10.0.0.1', 80, T0), true);
  assert.equal(ids.verify(ids.mint('::ffff:10.0.0.1', 80, T0), '10.0.0.1', 80, T0), true);
  assert.equal(ids.verify(ids.mint('::1', 80, T0), '::ffff:0.0.0.1', 80, T0), false);
});

test('one secret, many processes: every holder accepts the ids of the others; another secret does not', () => {
  const secret = 'correct horse battery staple';
  const a = new ConnectionIds(secret);
  const b = new ConnectionIds(secret);
  const id = a.mint('10.1.2.3', 51413, T0 + 5000);
  assert.equal(b.verify(id, '10.1.2.3', 51413, T0 + WINDOW_MS + 5000), true);
  assert.equal(new ConnectionIds(secret + '!').verify(id, '10.1.2.3', 51413, T0 + 5000), false);
});

test('ids differ per client and per window (no constant to replay)', () => {
  const ids = new ConnectionIds('0123456789abcdef');
  const seen = new Set<string>();
  for (let w = 0; w < 4; w++) for (let port = 1; port <= 50; port++) seen.add(ids.mint('127.0.0.1', port, T0 + w * WINDOW_MS).toString('hex'));
  assert.equal(seen.size, 200);
});
