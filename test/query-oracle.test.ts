/**
 * The announce hot path's query decoding (src/tracker/query.ts parseRawQuery, walked by index)
 * against a plain reference written the obvious way (split on '&', then '=', decode each part):
 * the same parameters, values and errors for random queries made of the characters that matter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRawQuery, QueryError } from '../src/tracker/query.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

function referenceDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new QueryError('invalid percent-encoding in the query');
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      if (c > 0xff) throw new QueryError('non-ASCII character in the query');
      out.push(c);
    }
  }
  return Buffer.from(out);
}

function reference(raw: string, maxParams: number): Map<string, Buffer[]> {
  const params = new Map<string, Buffer[]>();
  let count = 0;
  for (const part of raw.split('&')) {
    if (!part) continue;
    if (++count > maxParams) throw new QueryError(`more than ${maxParams} query parameters`);
    const eq = part.indexOf('=');
    const name = referenceDecode(eq < 0 ? part : part.slice(0, eq)).toString('latin1');
    const value = eq < 0 ? Buffer.alloc(0) : referenceDecode(part.slice(eq + 1));
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return params;
}

const piece = fc.constantFrom('&', '=', '%', '%4', '%41', '%zz', '%e9', 'a', 'info_hash', 'B', '0', 'f', '+', ' ', '\u00e9', '\u0100', '\u20ac');
const query = fc.array(piece, { maxLength: 40 }).map((a) => a.join(''));

function outcome(f: () => Map<string, Buffer[]>): unknown {
  try {
    return [...f()].map(([k, v]) => [k, v.map((b) => b.toString('hex'))]);
  } catch (e) {
    assert.ok(e instanceof QueryError, `only QueryError is thrown, got ${String(e)}`);
    return `error: ${e.message}`;
  }
}

test('parseRawQuery equals the plain reference (parameters, values, errors)', () => {
  fc.assert(
    fc.property(query, fc.integer({ min: 1, max: 8 }), (raw, max) => {
      assert.deepEqual(outcome(() => parseRawQuery(raw, max)), outcome(() => reference(raw, max)));
    }),
    { seed: SEED, numRuns: 20_000 },
  );
});
