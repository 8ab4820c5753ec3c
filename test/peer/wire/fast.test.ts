import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedFastSet } from '../../../src/peer/wire/fast.ts';

const AA = Buffer.alloc(20, 0xaa);

test("allowedFastSet reproduces BEP 6's example (80.4.4.200, info_hash 0xAA..., 1313 pieces)", () => {
  assert.deepEqual(allowedFastSet('80.4.4.200', AA, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188]);
  assert.deepEqual(allowedFastSet('80.4.4.200', AA, 1313, 9), [1059, 431, 808, 1217, 287, 376, 1188, 353, 508]);
});

test('allowedFastSet depends on the /24 only, and an IPv4-mapped address is the same peer', () => {
  assert.deepEqual(allowedFastSet('80.4.4.7', AA, 1313, 9), allowedFastSet('80.4.4.200', AA, 1313, 9));
  assert.deepEqual(allowedFastSet('::ffff:80.4.4.200', AA, 1313, 9), allowedFastSet('80.4.4.200', AA, 1313, 9));
  assert.notDeepEqual(allowedFastSet('80.4.5.200', AA, 1313, 9), allowedFastSet('80.4.4.200', AA, 1313, 9));
});

test('allowedFastSet: never more pieces than the torrent has, distinct, in range; IPv6 by /48; not an IP: empty', () => {
  assert.deepEqual(allowedFastSet('10.0.0.1', AA, 3).sort(), [0, 1, 2]);
  const six = allowedFastSet('2001:db8:1:2::5', AA, 500);
  assert.equal(six.length, 10);
  assert.equal(new Set(six).size, 10);
  assert.ok(six.every((i) => i >= 0 && i < 500), `every allowed-fast piece in 0..499: ${six.join(' ')}`);
  assert.deepEqual(allowedFastSet('2001:db8:1:ffff::9', AA, 500), six);
  assert.deepEqual(allowedFastSet('example.org', AA, 500), []);
  assert.deepEqual(allowedFastSet('10.0.0.1', AA, 0), []);
});
