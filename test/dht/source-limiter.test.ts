import test from 'node:test';
import assert from 'node:assert/strict';
import { SourceLimiter } from '../../src/dht/source-limiter.ts';

test('one address gets a burst of twice its rate, then its rate', () => {
  const l = new SourceLimiter({ perAddress: 10, total: 1000, maxAddresses: 100 }, 0);
  let passed = 0;
  for (let i = 0; i < 100; i++) if (l.allow('1.2.3.4', 0)) passed++;
  assert.equal(passed, 20);
  assert.equal(l.refused, 80);
  assert.equal(l.allow('5.6.7.8', 0), true, 'another address is not held back');
  passed = 0;
  for (let i = 0; i < 100; i++) if (l.allow('1.2.3.4', 1000)) passed++;
  assert.equal(passed, 10, 'one second later: ten more');
});

test('everyone together meets the total; the address table stays bounded', () => {
  const l = new SourceLimiter({ perAddress: 10, total: 50, maxAddresses: 64 }, 0);
  let passed = 0;
  for (let i = 0; i < 10_000; i++) if (l.allow(`10.0.${i >> 8}.${i & 255}`, 0)) passed++;
  assert.equal(passed, 100);
  assert.ok(l.trackedAddresses <= 64, `at most 64 source addresses tracked: ${l.trackedAddresses}`);
});
