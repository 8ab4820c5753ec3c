/**
 * Property-based (fuzz) tests of the HTTP Range parser (src/peer/range.ts): hostile and random
 * input gives a value or the one expected error, never anything else, and never a hang. Seeds and
 * case counts: test/support/fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRange } from '../../src/peer/range.ts';
import { check, timed } from '../support/fuzz.ts';

test('parseRange: a range is always within [0, size-1] and never inverted', (t) => {
  const num = fc.oneof(fc.nat(), fc.maxSafeInteger().map((n) => Math.abs(n)), fc.constantFrom(0, 1, 2 ** 53, 10 ** 16, 10 ** 20));
  const header = fc.oneof(
    fc.tuple(fc.option(num), fc.option(num), fc.constantFrom('bytes=', 'BYTES=', 'bytes= ', ' bytes=', 'items=', 'bytes=-', '')).map(([a, c, unit]) => `${unit}${a ?? ''}-${c ?? ''}`),
    fc.tuple(num, num, num, num).map(([a, c, d, e]) => `bytes=${a}-${c},${d}-${e}`),
    fc.string({ unit: fc.constantFrom('b', 'y', 't', 'e', 's', '=', '-', ',', ' ', '0', '1', '9', '+', 'x', '\t'), maxLength: 20 }),
    fc.string({ maxLength: 30 }),
    fc.constant(undefined),
  );
  const size = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.maxSafeInteger().map((n) => Math.abs(n)), fc.constantFrom(0, 1, 2 ** 32, 2 ** 53 - 1));
  check(
    t,
    'ranges',
    fc.property(header, size, (h, n) => {
      const r = timed('parseRange', () => parseRange(h, n));
      assert.ok(['none', 'range', 'unsatisfiable', 'invalid'].includes(r.kind), `a known kind: ${r.kind}`);
      if (r.kind === 'range') {
        assert.ok(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end), 'integers');
        assert.ok(r.start >= 0 && r.start <= r.end && r.end <= n - 1, `bytes ${r.start}-${r.end} of ${n}`);
      }
    }),
    8000,
  );
});
