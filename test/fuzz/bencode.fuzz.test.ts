/**
 * Property-based (fuzz) tests of the bencode decoder and encoder (src/metainfo/bencode.ts): hostile
 * and random input gives a value or the one expected error, never anything else, and never a hang.
 * Seeds and case counts: test/support/fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type BDict, BencodeError, decode, decodeWithSpans, encode, encodeBinaryKeyDict } from '../../src/metainfo/bencode.ts';
import { TOKENS, anyBytes, b, bytesFrom, check, mutate, mutations, only } from '../support/fuzz.ts';
import { type G, canonicalLength, expectedValue, gDict, gTree, gValue, realTorrent, refEncode, sameValue, wellFormed } from '../support/bencode-oracle.ts';

test('bencode decode: random bytes return a value or throw BencodeError, never anything else', (t) => {
  const input = fc.oneof(
    anyBytes(64),
    // Bencode-shaped noise: mostly structural bytes and digits, so parsing gets past the first byte.
    fc.array(fc.constantFrom(...'ldei0123456789:-e'.split(''), 'x', '\x00'), { maxLength: 80 }).map((cs) => bytesFrom(cs.join(''))),
    fc.array(fc.constantFrom(...TOKENS), { maxLength: 12 }).map((ts) => bytesFrom(ts.join(''))),
  );
  check(
    t,
    'random bytes',
    fc.property(input, (x) => {
      const r = only(BencodeError, 'decode', () => decode(x));
      if (r.ok) {
        wellFormed(r.value);
        // Accepted input is canonical (exact lengths, canonical integers): re-encoding has its length.
        assert.equal(canonicalLength(r.value), x.length, 'accepted input re-encodes to the same length');
      } else {
        const e = r.error as BencodeError;
        assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= x.length, `error offset ${e.offset} inside the input`);
      }
    }),
    6000,
  );
});

test('bencode decode: mutations of real encoded torrents (flips, truncations, insertions, deletions, copies)', (t) => {
  check(
    t,
    'mutated torrents',
    fc.property(realTorrent, mutations, (base, ms) => {
      const x = mutate(base, ms);
      const r = only(BencodeError, 'decode', () => decodeWithSpans(x));
      if (r.ok) {
        wellFormed(r.value.value);
        assert.equal(canonicalLength(r.value.value), x.length);
        for (const [k, s] of r.value.spans) {
          assert.ok(s.start >= 0 && s.start < s.end && s.end <= x.length, `span of ${k} inside the input`);
          sameValue(decode(x.subarray(s.start, s.end)), (r.value.value as BDict)[k], k);
        }
      }
    }),
    5000,
  );
});

test('bencode decode: nesting 100,000 deep fails fast with BencodeError, depth 100 is the exact bound', (t) => {
  const shapes: Array<[string, Buffer]> = [
    ['l*100000', b('l'.repeat(100_000))],
    ['l*100000 e*100000', b('l'.repeat(100_000) + 'e'.repeat(100_000))],
    ['d1:a*100000', b('d1:a'.repeat(100_000))],
    ['(ld1:a)*50000', b('ld1:a'.repeat(50_000))],
    ['li0e*100000', b('li0e'.repeat(100_000))],
    ['d + l*100000 as a value', b('d4:info' + 'l'.repeat(100_000))],
  ];
  for (const [label, x] of shapes) {
    const r = only(BencodeError, label, () => decode(x), 200);
    assert.equal(r.ok, false, `${label} must be refused`);
    assert.match(r.error.message, /nesting deeper than 100/, label);
  }
  for (const [open, close] of [['l', 'e'], ['d1:k', 'e']] as const) {
    // The innermost value of the dict chain needs a value: use `le`.
    const at = (n: number) => b(open.repeat(n) + (open === 'l' ? '' : 'le') + close.repeat(n));
    const ok = open === 'l' ? 100 : 99; // d1:k * 99 + le = depth 100
    assert.doesNotThrow(() => decode(at(ok)), `${open} x ${ok} is within the limit`);
    assert.throws(() => decode(at(ok + 1)), BencodeError, `${open} x ${ok + 1} is over the limit`);
  }
  // Random depth around the limit, random container kinds.
  check(
    t,
    'nesting',
    fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }), (kinds) => {
      let open = '';
      let close = '';
      for (const isList of kinds) {
        open += isList ? 'l' : 'd1:k';
        close += 'e';
      }
      // A dict as the innermost container needs a value: add an integer.
      const x = b(open + (kinds[kinds.length - 1] ? '' : 'i1e') + close);
      const r = only(BencodeError, 'decode', () => decode(x));
      assert.equal(r.ok, kinds.length <= 100, `depth ${kinds.length}: accepted iff <= 100`);
    }),
    2000,
  );
});

test('bencode decode: huge length prefixes never allocate (99999999999: and friends)', (t) => {
  const prefixes = ['99999999999', '4294967296', '4294967295', '2147483648', '9007199254740991', '9007199254740992', '9999999999999999', '99999999999999999', '1'.repeat(40)];
  const where = fc.constantFrom('top', 'list', 'dict-key', 'dict-value', 'info-name');
  const before = process.memoryUsage();
  check(
    t,
    'huge prefixes',
    fc.property(fc.constantFrom(...prefixes), where, anyBytes(32), (p, w, tail) => {
      const s = `${p}:`;
      const wrapped =
        w === 'top' ? s : w === 'list' ? `l${s}` : w === 'dict-key' ? `d${s}` : w === 'dict-value' ? `d1:a${s}` : `d4:infod4:name${s}`;
      const x = Buffer.concat([b(wrapped), tail]);
      const r = only(BencodeError, 'decode', () => decode(x), 50);
      assert.equal(r.ok, false, 'a declared length past the input is refused');
    }),
    3000,
  );
  const after = process.memoryUsage();
  const grew = (after.arrayBuffers - before.arrayBuffers + after.heapUsed - before.heapUsed) / 2 ** 20;
  t.diagnostic(`heap + array buffers grew ${grew.toFixed(1)} MiB over the huge-prefix cases`);
  assert.ok(grew < 64, `memory grew ${grew.toFixed(1)} MiB: a length prefix was allocated`);
  // And the maximum safe integer as a length, the worst legal number, in one timed call.
  const r = only(BencodeError, 'decode', () => decode(b('9007199254740991:x')), 20);
  assert.equal(r.ok, false);
});

test('bencode decode: integers and lengths only in canonical form (leading zeros, -0, +, spaces, overflow)', (t) => {
  const digits = fc.oneof(
    fc.stringMatching(/^-?[0-9]{0,18}$/),
    fc.constantFrom('0', '-0', '00', '01', '-01', '+1', ' 1', '1 ', '', '-', '--1', '9007199254740991', '9007199254740992', '-9007199254740991', '-9007199254740992', '1e3', '0x10', '1.0'),
    fc.integer().map(String),
  );
  const canonical = (s: string) => /^(0|-?[1-9][0-9]*)$/.test(s) && Number.isSafeInteger(Number(s));
  check(
    t,
    'integers',
    fc.property(digits, (s) => {
      const r = only(BencodeError, 'decode', () => decode(b(`i${s}e`)));
      assert.equal(r.ok, canonical(s), `i${s}e accepted iff canonical`);
      if (r.ok) assert.equal(r.value, Number(s));
    }),
    4000,
  );
  check(
    t,
    'lengths',
    fc.property(digits, anyBytes(12), (s, tail) => {
      const x = Buffer.concat([b(`${s}:`), tail]);
      const r = only(BencodeError, 'decode', () => decode(x));
      const valid = /^(0|[1-9][0-9]*)$/.test(s) && Number(s) === tail.length;
      assert.equal(r.ok, valid, `${s}: + ${tail.length} bytes accepted iff canonical and exact`);
      if (r.ok) assert.ok(Buffer.isBuffer(r.value) && r.value.equals(tail), `${s}: the accepted string is the ${tail.length} bytes that follow`);
    }),
    4000,
  );
});

test('bencode decode: unsorted keys are tolerated, duplicate keys refused', (t) => {
  check(
    t,
    'key order and duplicates',
    fc.property(fc.array(fc.tuple(fc.oneof(anyBytes(3), fc.constantFrom('a', 'b', '__proto__').map(bytesFrom)), gValue), { maxLength: 8 }), (entries) => {
      const x = refEncode({ t: 'd', v: entries }, false);
      const keys = entries.map(([k]) => k.toString('latin1'));
      const dup = new Set(keys).size !== keys.length;
      const r = only(BencodeError, 'decode', () => decode(x));
      assert.equal(r.ok, !dup, `accepted iff no duplicate key (${dup ? 'has' : 'no'} duplicates)`);
      if (r.ok) sameValue(r.value, expectedValue({ t: 'd', v: entries }));
    }),
    3000,
  );
});

test('bencode decode: the maxTokens and maxDepth limits are exact', (t) => {
  check(
    t,
    'limits',
    fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 20 }), (n, maxTokens, maxDepth) => {
      // A list of n integers: n + 1 values.
      const x = b('l' + 'i7e'.repeat(n) + 'e');
      const r = only(BencodeError, 'decode', () => decode(x, { maxTokens, maxDepth }));
      assert.equal(r.ok, n + 1 <= maxTokens);
    }),
    2000,
  );
});

test('bencode: refEncode -> decode and decodeWithSpans give back arbitrary binary-keyed values with exact spans', (t) => {
  check(
    t,
    'round trip',
    fc.property(gDict, (g) => {
      const x = refEncode(g);
      const r = only(BencodeError, 'decodeWithSpans', () => decodeWithSpans(x));
      assert.ok(r.ok, `canonical input refused: ${r.ok ? '' : r.error.message}`);
      sameValue(r.value.value, expectedValue(g));
      // Spans: computed independently by encoding the sorted entries one after another.
      assert.ok(g.t === 'd', `the generated value is a dict: ${g.t}`);
      const sorted = [...g.v].sort((p, q) => Buffer.compare(p[0], q[0]));
      let at = 1;
      assert.equal(r.value.spans.size, sorted.length);
      for (const [k, v] of sorted) {
        at += String(k.length).length + 1 + k.length;
        const len = refEncode(v).length;
        assert.deepEqual(r.value.spans.get(k.toString('latin1')), { start: at, end: at + len }, `span of key ${k.toString('hex')}`);
        at += len;
      }
      // encodeBinaryKeyDict writes the same canonical bytes for a binary-keyed top-level dict.
      assert.ok(encodeBinaryKeyDict(g.v.map(([k, v]) => [k, toEncodableBinary(v)])).equals(x) || hasNestedBinaryKeys(g), 'encodeBinaryKeyDict is canonical');
    }),
    4000,
  );
});

/** A value for `encode` (the bencode package): only valid where nested dict keys are ASCII. */
function toEncodableBinary(g: G): Parameters<typeof encode>[0] {
  switch (g.t) {
    case 'b':
      return g.v;
    case 'i':
      return g.v;
    case 'l':
      return g.v.map(toEncodableBinary);
    case 'd': {
      const o: Record<string, Parameters<typeof encode>[0]> = {};
      for (const [k, v] of g.v) Object.defineProperty(o, k.toString('latin1'), { value: toEncodableBinary(v), enumerable: true, configurable: true, writable: true });
      return o;
    }
  }
}

function hasNestedBinaryKeys(g: G): boolean {
  const inner = (x: G): boolean =>
    x.t === 'l' ? x.v.some(inner) : x.t === 'd' ? x.v.some(([k, v]) => k.some((c) => c >= 0x80) || inner(v)) : false;
  return g.t === 'd' && g.v.some(([, v]) => inner(v));
}

test('bencode: encode -> decode round trip with latin1 string keys (encode writes keys as UTF-8)', (t) => {
  // The latin1-key convention: decode exposes a key as the latin1 string of its bytes. The
  // package's encode writes a JS string key as UTF-8, so a key with chars 0x80-0xFF comes back
  // as the latin1 reading of its UTF-8 bytes; ASCII keys come back unchanged, byte for byte.
  const latin1Key = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 6 }), fc.uint8Array({ maxLength: 6 }).map((u) => Buffer.from(u).toString('latin1')));
  const tree = gTree(latin1Key.map(bytesFrom));
  check(
    t,
    'encode round trip',
    fc.property(tree, (g) => {
      const x = encode(toEncodableBinary(g));
      const r = only(BencodeError, 'decode', () => decode(x));
      assert.ok(r.ok, `encode produced bencode that decode refuses: ${r.ok ? '' : r.error.message}`);
      const utf8Keys = (v: G): G =>
        v.t === 'l'
          ? { t: 'l', v: v.v.map(utf8Keys) }
          : v.t === 'd'
            ? { t: 'd', v: v.v.map(([k, x2]): [Buffer, G] => [Buffer.from(k.toString('latin1'), 'utf8'), utf8Keys(x2)]) }
            : v;
      const want = utf8Keys(g);
      sameValue(r.value, expectedValue(want));
      // Canonical: keys sorted as raw bytes (latin1 code points sort like their UTF-8 bytes).
      assert.ok(x.equals(refEncode(want)), 'encode output is canonical bencode');
    }),
    3000,
  );
});
