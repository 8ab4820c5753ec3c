/**
 * Property-based (fuzz) tests of the tracker's query-string parser (src/tracker/protocol/query.ts): hostile
 * and random input gives a value or the one expected error, never anything else, and never a hang.
 * Seeds and case counts: test/support/fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QueryError, parseRawQuery, percentDecode, percentEncode } from '../../src/tracker/protocol/query.ts';
import { anyBytes, check, only, queryish } from '../support/fuzz.ts';

test('tracker query: parseRawQuery and percentDecode throw only QueryError, and decode escapes exactly', (t) => {
  check(
    t,
    'raw queries',
    fc.property(queryish, fc.integer({ min: 0, max: 70 }), (s, maxParams) => {
      const d = only(QueryError, 'percentDecode', () => percentDecode(s));
      // Oracle: %XX (hex either case) is one byte, any other char <= 0xFF stands for itself.
      let want: number[] | null = [];
      for (let i = 0; i < s.length && want; i++) {
        const c = s.charCodeAt(i);
        if (c === 0x25) {
          const hex = s.slice(i + 1, i + 3);
          if (/^[0-9a-fA-F]{2}$/.test(hex)) {
            want.push(parseInt(hex, 16));
            i += 2;
          } else want = null;
        } else if (c > 0xff) want = null;
        else want.push(c);
      }
      assert.equal(d.ok, want !== null, `percentDecode(${JSON.stringify(s)}) accepted iff well-formed`);
      if (d.ok && want) assert.deepEqual([...d.value], want);
      const q = only(QueryError, 'parseRawQuery', () => parseRawQuery(s, maxParams));
      if (q.ok) {
        let n = 0;
        for (const vs of q.value.values()) n += vs.length;
        assert.ok(n <= maxParams, 'no more parameters than the limit');
      }
    }),
    6000,
  );
});

test('tracker query: percentEncode -> percentDecode round trip for random bytes', (t) => {
  check(
    t,
    'percent round trip',
    fc.property(anyBytes(64), (x) => {
      const s = percentEncode(x);
      assert.match(s, /^[A-Za-z0-9\-._~%]*$/, 'only unreserved characters and escapes');
      assert.ok(percentDecode(s).equals(x), `percentDecode(percentEncode(x)) gives x back: ${s}`);
      // Inside a query: the value survives as one parameter.
      const q = parseRawQuery(`info_hash=${s}&x=1`, 64);
      assert.ok(q.get('info_hash')?.[0]?.equals(x), `info_hash=${s} parses back to the same bytes`);
    }),
    5000,
  );
});
