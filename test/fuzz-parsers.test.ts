/**
 * Property-based (fuzz) tests of every parser that reads bytes from outside: bencode, metainfo
 * (and the storage layout of what it accepts), tracker queries and answers, tracker replies as
 * our client reads them, HTTP Range, the wire framing and the client-address logic.
 *
 * Each property runs thousands of cases with fast-check. The seed is new on every run and printed
 * on failure; `FUZZ_SEED=<n>` replays a run, `FUZZ_RUNS=<x>` multiplies every case count (for a
 * longer hunt: `FUZZ_RUNS=20 node --import tsx --test test/fuzz-parsers.test.ts`).
 *
 * Every case is timed (a parser that loops shows up as a slow case, and the test's own timeout
 * catches a real hang), and the one expected error class is the only exception allowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  decode,
  decodeWithSpans,
  encode,
  encodeBinaryKeyDict,
  BencodeError,
  DEFAULT_LIMITS as BENCODE_LIMITS,
  isBytes,
  isDict,
  isInt,
  isList,
  type BDict,
  type BValue,
} from '../src/metainfo/bencode.ts';
import { parseMetainfo, MetainfoError, MAX_PIECE_LENGTH, type Metainfo } from '../src/metainfo/metainfo.ts';
import { encodeTorrent } from '../src/metainfo/build.ts';
import { unsafeComponentReason, safeJoin } from '../src/storage/safe-path.ts';
import { partBaseName, storageFiles } from '../src/storage/layout.ts';
import { parseRawQuery, percentDecode, percentEncode, QueryError } from '../src/tracker/query.ts';
import {
  parseAnnounce,
  parseScrape,
  TrackerRequestError,
  encodeAnnounceResponse,
  peerSample,
  encodeScrapeResponse,
  DEFAULT_LIMITS as TRACKER_LIMITS,
  type PeerInfo,
} from '../src/tracker/protocol.ts';
import { parseTrackerReply, TrackerFailure } from '../src/tracker/client.ts';
import { clientAddress, parseCidr, inCidr, type Cidr } from '../src/tracker/client-address.ts';
import { parseRange } from '../src/peer/range.ts';
import { MessageParser, WireError, encode as encodeMessage, type Message } from '../src/peer/wire/messages.ts';

// ------------------------------------------------------------------------------------ harness

const SEED = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
const SCALE = Number(process.env['FUZZ_RUNS'] ?? 1) || 1;
/** A single parser call slower than this is treated as a hang (generous: GC pauses, a busy CI). */
const CASE_LIMIT_MS = 1000;

const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

interface Ctx {
  diagnostic(msg: string): void;
}

/** Run a property with this run's seed; on failure say how to replay it. */
function check<Ts>(t: Ctx, name: string, prop: fc.IRawProperty<Ts>, numRuns: number): void {
  const n = runs(numRuns);
  const t0 = performance.now();
  const slowest = { ms: 0 };
  current = slowest;
  try {
    fc.assert(prop, { seed: SEED, numRuns: n });
  } catch (e) {
    const cause = (e as Error).cause;
    const why = cause instanceof Error ? `\nCause: ${cause.stack ?? cause.message}` : '';
    throw new Error(`${name}: property failed. Replay with FUZZ_SEED=${SEED}\n${(e as Error).message}${why}`);
  } finally {
    current = undefined;
  }
  const slow = slowest.ms > 0 ? `, slowest timed call ${slowest.ms.toFixed(2)} ms` : '';
  t.diagnostic(`${name}: ${n} cases in ${(performance.now() - t0).toFixed(0)} ms${slow} (seed ${SEED})`);
}

let current: { ms: number } | undefined;

/** Time one parser call; a case over CASE_LIMIT_MS fails as a hang. */
function timed<T>(what: string, f: () => T, limitMs = CASE_LIMIT_MS): T {
  const t0 = performance.now();
  try {
    return f();
  } finally {
    const ms = performance.now() - t0;
    if (current && ms > current.ms) current.ms = ms;
    if (ms > limitMs) assert.fail(`${what} took ${ms.toFixed(1)} ms (limit ${limitMs} ms): a hang or a quadratic path`);
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Call `f`; the only exception allowed is `E` (anything else fails the property with its stack). */
function only<T>(E: abstract new (...args: never[]) => Error, what: string, f: () => T, limitMs?: number): Outcome<T> {
  try {
    return { ok: true, value: timed(what, f, limitMs) };
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    if (e instanceof E) return { ok: false, error: e };
    assert.fail(`${what} threw ${(e as Error)?.name ?? typeof e} instead of ${E.name}: ${(e as Error)?.stack ?? String(e)}`);
  }
}

const b = (s: string) => Buffer.from(s, 'latin1');

// -------------------------------------------------------------- a reference bencode (the oracle)

/** A generated bencode value with dict keys as raw bytes, in the order generated. */
type G = { t: 'b'; v: Buffer } | { t: 'i'; v: number } | { t: 'l'; v: G[] } | { t: 'd'; v: Array<[Buffer, G]> };

/** Canonical BEP 3 encoding, written here independently of src: keys sorted as raw bytes. */
function refEncode(g: G, sortKeys = true): Buffer {
  const parts: Buffer[] = [];
  const walk = (x: G): void => {
    switch (x.t) {
      case 'b':
        parts.push(b(`${x.v.length}:`), x.v);
        return;
      case 'i':
        parts.push(b(`i${x.v}e`));
        return;
      case 'l':
        parts.push(b('l'));
        x.v.forEach(walk);
        parts.push(b('e'));
        return;
      case 'd': {
        parts.push(b('d'));
        const entries = sortKeys ? [...x.v].sort((p, q) => Buffer.compare(p[0], q[0])) : x.v;
        for (const [k, v] of entries) {
          parts.push(b(`${k.length}:`), k);
          walk(v);
        }
        parts.push(b('e'));
        return;
      }
    }
  };
  walk(g);
  return Buffer.concat(parts);
}

/** What decode should return for `g`: Buffers, numbers, arrays, null-prototype dicts with latin1 keys. */
function expectedValue(g: G): BValue {
  switch (g.t) {
    case 'b':
      return g.v;
    case 'i':
      return g.v;
    case 'l':
      return g.v.map(expectedValue);
    case 'd': {
      const o = Object.create(null) as BDict;
      for (const [k, v] of g.v) o[k.toString('latin1')] = expectedValue(v);
      return o;
    }
  }
}

/** Structural equality of decoded values (Buffers by bytes; dicts must have a null prototype). */
function sameValue(a: BValue | undefined, e: BValue | undefined, at = '$'): void {
  if (Buffer.isBuffer(e)) {
    assert.ok(Buffer.isBuffer(a), `${at}: expected a Buffer`);
    assert.ok(a.equals(e), `${at}: bytes differ`);
  } else if (typeof e === 'number') {
    assert.equal(a, e, `${at}: integer differs`);
  } else if (Array.isArray(e)) {
    assert.ok(Array.isArray(a), `${at}: expected a list`);
    assert.equal(a.length, e.length, `${at}: list length`);
    e.forEach((x, i) => sameValue(a[i], x, `${at}[${i}]`));
  } else if (e !== undefined) {
    assert.ok(isDict(a), `${at}: expected a dict`);
    assert.equal(Object.getPrototypeOf(a), null, `${at}: a decoded dict has a null prototype`);
    assert.deepEqual(Object.keys(a).sort(), Object.keys(e).sort(), `${at}: dict keys`);
    for (const k of Object.keys(e)) sameValue(a[k], e[k], `${at}[${JSON.stringify(k)}]`);
  } else {
    assert.equal(a, undefined, `${at}: expected nothing`);
  }
}

/** Every decoded value is one of the four shapes, integers safe, dicts null-prototype, depth bounded. */
function wellFormed(v: BValue, depth = 0): void {
  assert.ok(depth <= BENCODE_LIMITS.maxDepth, 'nesting deeper than the limit was accepted');
  if (Buffer.isBuffer(v)) return;
  if (typeof v === 'number') {
    assert.ok(Number.isSafeInteger(v) && !Object.is(v, -0), `integer ${v} is not a safe canonical integer`);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) wellFormed(x, depth + 1);
    return;
  }
  assert.equal(Object.getPrototypeOf(v), null, 'dict with a prototype');
  for (const k of Object.keys(v)) wellFormed(v[k]!, depth + 1);
}

/** Byte length of the canonical encoding of a decoded value (equals the input's when decode accepted it). */
function canonicalLength(v: BValue): number {
  if (Buffer.isBuffer(v)) return String(v.length).length + 1 + v.length;
  if (typeof v === 'number') return String(v).length + 2;
  if (Array.isArray(v)) return 2 + v.reduce<number>((n, x) => n + canonicalLength(x), 0);
  let n = 2;
  for (const k of Object.keys(v)) n += String(k.length).length + 1 + k.length + canonicalLength(v[k]!);
  return n;
}

// ---------------------------------------------------------------------------- arbitraries

const anyBytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u));
const bytesFrom = (s: string) => Buffer.from(s, 'latin1');

/** Keys: short, colliding often, binary (NUL, 0x80-0xFF), and prototype names. */
const binaryKey = fc.oneof(
  { weight: 3, arbitrary: anyBytes(6) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'toString', 'info', 'piece length', '', 'a', '0', '1').map(bytesFrom) },
);

const integer = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER));

function gTree(key: fc.Arbitrary<Buffer>): fc.Arbitrary<G> {
  const { value } = fc.letrec<{ value: G; list: G; dict: G }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 5, withCrossShrink: true },
      anyBytes(24).map((v): G => ({ t: 'b', v })),
      integer.map((v): G => ({ t: 'i', v })),
      tie('list'),
      tie('dict'),
    ),
    list: fc.array(tie('value'), { maxLength: 5 }).map((v): G => ({ t: 'l', v })),
    dict: fc
      .uniqueArray(fc.tuple(key, tie('value')), { maxLength: 5, selector: (e) => e[0].toString('latin1') })
      .map((v): G => ({ t: 'd', v })),
  }));
  return value;
}

const gValue = gTree(binaryKey);
const gDict = fc.uniqueArray(fc.tuple(binaryKey, gValue), { maxLength: 8, selector: (e) => e[0].toString('latin1') }).map((v): G => ({ t: 'd', v }));

/** Byte-level mutations: flips, truncations, insertions of bencode-ish tokens, deletions, copies. */
type Mutation =
  | { k: 'flip'; at: number; v: number }
  | { k: 'truncate'; at: number }
  | { k: 'insert'; at: number; bytes: Buffer }
  | { k: 'delete'; at: number; n: number }
  | { k: 'copy'; from: number; n: number; to: number };

const TOKENS = ['l', 'd', 'e', 'i', '-', '0', '9', ':', 'i-0e', 'i00e', 'i-e', '99999999999:', '9007199254740993:', '4:ab', 'le', 'de', '0:', '1:', '__proto__', 'l'.repeat(120)];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(anyBytes(8), fc.constantFrom(...TOKENS).map(bytesFrom)) }),
  fc.record({ k: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ k: fc.constant('copy' as const), from: fc.nat(), n: fc.integer({ min: 1, max: 64 }), to: fc.nat() }),
);

function mutate(input: Buffer, ms: Mutation[]): Buffer {
  let x = Buffer.from(input);
  for (const m of ms) {
    const pos = (p: number) => (x.length === 0 ? 0 : p % (x.length + 1));
    switch (m.k) {
      case 'flip':
        if (x.length) x[m.at % x.length] = m.v;
        break;
      case 'truncate':
        x = x.subarray(0, pos(m.at));
        break;
      case 'insert': {
        const at = pos(m.at);
        x = Buffer.concat([x.subarray(0, at), m.bytes, x.subarray(at)]);
        break;
      }
      case 'delete': {
        const at = pos(m.at);
        x = Buffer.concat([x.subarray(0, at), x.subarray(at + m.n)]);
        break;
      }
      case 'copy': {
        const from = pos(m.from);
        const at = pos(m.to);
        x = Buffer.concat([x.subarray(0, at), x.subarray(from, from + m.n), x.subarray(at)]);
        break;
      }
    }
  }
  return x;
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

// Real torrents built with our own encoder (single file, folder, web seeds, odd keys).
const sha = (s: string) => createHash('sha1').update(s).digest();
const REAL_TORRENTS: Buffer[] = [
  encodeTorrent({ announce: 'http://127.0.0.1:5001/announce', name: 'example.txt', pieceLength: 16384, pieces: Buffer.concat([sha('a'), sha('b')]), length: 20000 }),
  encodeTorrent({
    announce: 'http://127.0.0.1:5001/announce',
    name: 'folder',
    pieceLength: 32768,
    pieces: Buffer.concat([sha('1'), sha('2'), sha('3')]),
    files: [
      { length: 40000, path: ['a', 'b.bin'] },
      { length: 0, path: ['empty'] },
      { length: 30000, path: ['c', 'd', 'e.txt'] },
    ],
    urlList: ['http://127.0.0.1:6881/webseed/x/'],
    createdBy: 'fuzz',
    creationDate: 1700000000,
  }),
  encode({
    announce: 'http://t/announce',
    'announce-list': [['http://a/announce', 'http://b/announce'], ['udp://c:80']],
    info: {
      name: 'pads',
      'piece length': 16384,
      pieces: Buffer.concat([sha('x'), sha('y')]),
      files: [
        { length: 100, path: ['x'] },
        { length: 16284, path: ['.pad', '16284'], attr: 'p' },
        { length: 5000, path: ['y'] },
      ],
      private: 1,
    },
  }),
];
const realTorrent = fc.constantFrom(...REAL_TORRENTS);

// --------------------------------------------------------------------------------- bencode

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
  current = { ms: 0 };
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
  current = { ms: 0 };
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
      if (r.ok) assert.ok(Buffer.isBuffer(r.value) && r.value.equals(tail));
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
      assert.ok(g.t === 'd');
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

// -------------------------------------------------------------------------------- metainfo

/** An independent statement of the rule: a path element that can be written under a folder. */
function safeElement(c: string): boolean {
  return c.length > 0 && c !== '.' && c !== '..' && !/[/\\\0]/.test(c) && Buffer.byteLength(c) <= 255;
}

const HOSTILE = [
  '..', '.', '', '/', '\\', '\0', 'a/b', 'a\\b', 'a\0b', '../etc', '..\\..\\x', '/etc/passwd', '/', '//', 'C:', 'C:\\Windows', 'c:/x',
  'CON', 'con', 'NUL', 'nul.txt', 'AUX', 'PRN', 'COM1', 'LPT9', 'CON.', ' ', '...', '. ', '.hidden', '~', '-rf', '%2e%2e', '..%2f', '%00',
  'a', 'b', 'x', 'file.txt', 'dir', '\u202egnp.exe', 'ﬁ', 'e\u0301', '\u00e9', '\uFEFF', 'x'.repeat(254), 'x'.repeat(255), 'x'.repeat(256),
  '\u00e9'.repeat(127), '\u00e9'.repeat(128), 'x'.repeat(4096),
];
const component: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE).map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: anyBytes(4) }, // invalid UTF-8 too
);

const pieceLengthArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1, 2, 3, 1000, 16384, 32768, 262144) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, -16384, MAX_PIECE_LENGTH, MAX_PIECE_LENGTH + 1, Number.MAX_SAFE_INTEGER) },
);
const lengthArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 70000 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 2 ** 40, Number.MAX_SAFE_INTEGER, Math.floor(Number.MAX_SAFE_INTEGER / 2) + 1) },
);

interface TorrentShape {
  name: Buffer;
  pieceLength: number;
  single: number | null;
  files: Array<{ length: number; path: Buffer[]; pad: boolean; extra: G | null }>;
  piecesMode: 'exact' | 'short' | 'long' | 'ragged' | 'huge-claim';
  announce: G | null;
  urlList: G | null;
  oddKeys: Array<[Buffer, G]>;
}

const torrentShape: fc.Arbitrary<TorrentShape> = fc.record({
  name: component,
  pieceLength: pieceLengthArb,
  single: fc.option(lengthArb, { freq: 3 }),
  files: fc.array(
    fc.record({
      length: lengthArb,
      path: fc.array(component, { minLength: 0, maxLength: 4 }),
      pad: fc.boolean(),
      extra: fc.option(gValue, { freq: 4 }),
    }),
    { minLength: 0, maxLength: 6 },
  ),
  piecesMode: fc.constantFrom('exact', 'exact', 'exact', 'exact', 'short', 'long', 'ragged', 'huge-claim'),
  announce: fc.option(gValue, { freq: 2 }),
  urlList: fc.option(gValue, { freq: 2 }),
  oddKeys: fc.uniqueArray(fc.tuple(binaryKey, gValue), { maxLength: 2, selector: (e) => e[0].toString('latin1') }),
});

const bs = (v: Buffer | string): G => ({ t: 'b', v: typeof v === 'string' ? b(v) : v });
const int = (v: number): G => ({ t: 'i', v });

function buildTorrent(s: TorrentShape): Buffer {
  const total = s.single ?? s.files.reduce((n, f) => n + Math.max(0, f.length), 0);
  const count = s.pieceLength > 0 ? Math.max(0, Math.ceil(total / s.pieceLength)) : 1;
  const pieceBytes =
    s.piecesMode === 'exact' ? count * 20 : s.piecesMode === 'short' ? Math.max(0, count - 1) * 20 : s.piecesMode === 'long' ? (count + 1) * 20 : s.piecesMode === 'ragged' ? count * 20 + 7 : 20;
  const info: Array<[Buffer, G]> = [
    [b('name'), bs(s.name)],
    [b('piece length'), int(s.pieceLength)],
    [b('pieces'), bs(Buffer.alloc(Math.min(pieceBytes, 1 << 20), 0xab))],
  ];
  if (s.single !== null) info.push([b('length'), int(s.single)]);
  else
    info.push([
      b('files'),
      {
        t: 'l',
        v: s.files.map((f): G => {
          const d: Array<[Buffer, G]> = [
            [b('length'), int(f.length)],
            [b('path'), { t: 'l', v: f.path.map(bs) }],
          ];
          if (f.pad) d.push([b('attr'), bs('p')]);
          if (f.extra) d.push([b('x-extra'), f.extra]);
          return { t: 'd', v: d };
        }),
      },
    ]);
  const top: Array<[Buffer, G]> = [[b('info'), { t: 'd', v: info }]];
  if (s.announce) top.push([b('announce'), s.announce]);
  if (s.urlList) top.push([b('url-list'), s.urlList]);
  for (const [k, v] of s.oddKeys) if (!top.some(([k2]) => k2.equals(k))) top.push([k, v]);
  return refEncode({ t: 'd', v: top });
}

const ROOT = path.resolve('/tmp/fuzz-root/downloads');

/** Everything a parsed torrent promises, checked from first principles. */
function metainfoInvariants(m: Metainfo, input: Buffer): void {
  assert.ok(Number.isSafeInteger(m.pieceLength) && m.pieceLength >= 1 && m.pieceLength <= MAX_PIECE_LENGTH, 'piece length in range');
  assert.equal(m.pieces.length, m.pieceCount * 20, 'pieceCount * 20 == pieces.length');
  assert.equal(m.pieceCount, Math.ceil(m.length / m.pieceLength), 'pieceCount == ceil(length / pieceLength)');
  assert.ok(Number.isSafeInteger(m.length) && m.length > 0, 'total length positive and safe');
  assert.ok(m.files.length >= 1);
  let offset = 0;
  for (const f of m.files) {
    assert.equal(f.offset, offset, 'file offsets are the running sum of lengths');
    assert.ok(Number.isSafeInteger(f.length) && f.length >= 0);
    offset += f.length;
    for (const c of f.path) {
      assert.ok(safeElement(c), `accepted an unsafe path element ${JSON.stringify(c)}`);
      assert.equal(unsafeComponentReason(c), null);
    }
    if (m.multiFile) assert.ok(f.path.length >= 1);
    else assert.deepEqual(f.path, []);
  }
  assert.equal(offset, m.length, 'lengths sum to the total');
  assert.ok(safeElement(m.name), `accepted an unsafe name ${JSON.stringify(m.name)}`);
  // The info_hash is the SHA-1 of the info value's bytes exactly as they stand in the input.
  assert.ok(input.includes(m.rawInfo), 'rawInfo is a slice of the input');
  assert.ok(m.infoHash.equals(createHash('sha1').update(m.rawInfo).digest()));
  assert.equal(m.infoHashHex, m.infoHash.toString('hex'));
  // Files that are written: no duplicates, no file that is also a folder.
  const real = m.files.filter((f) => !f.pad).map((f) => f.path.join('/'));
  assert.equal(new Set(real).size, real.length, 'no duplicate paths');
  for (const p of real) for (const q of real) assert.ok(!q.startsWith(p + '/'), `${p} is a file and a folder`);
  // Storage: every path inside the download folder, distinct.
  const files = storageFiles(m, ROOT);
  const paths = files.map((f) => f.path).filter((p): p is string => p !== null);
  for (const p of paths) assert.ok(p.startsWith(ROOT + path.sep) && path.resolve(p) === p, `${p} escapes ${ROOT}`);
  assert.equal(new Set(paths).size, paths.length, 'storage paths are distinct');
}

test('parseMetainfo: random and hostile torrents give MetainfoError or a Metainfo whose invariants hold', (t) => {
  let accepted = 0;
  check(
    t,
    'structured torrents',
    fc.property(torrentShape, (s) => {
      const x = buildTorrent(s);
      const r = only(MetainfoError, 'parseMetainfo', () => parseMetainfo(x));
      const names = [s.name, ...(s.single === null ? s.files.flatMap((f) => f.path) : [])];
      const anyUnsafe = names.some((c) => {
        const text = c.toString('utf8');
        return !Buffer.from(text, 'utf8').equals(c) || !safeElement(text);
      });
      if (r.ok) {
        accepted++;
        metainfoInvariants(r.value, x);
        assert.ok(!anyUnsafe, 'a torrent with an unsafe name or path element was accepted');
      }
    }),
    5000,
  );
  t.diagnostic(`structured torrents accepted: ${accepted}`);
  assert.ok(accepted > 100, `too few valid torrents generated (${accepted}) for the invariants to mean much`);
});

test('parseMetainfo: mutations of real torrents and random bytes give MetainfoError or a consistent Metainfo', (t) => {
  let accepted = 0;
  check(
    t,
    'mutated torrents',
    fc.property(fc.oneof({ weight: 5, arbitrary: fc.tuple(realTorrent, mutations) }, { weight: 1, arbitrary: fc.tuple(anyBytes(200), fc.constant([] as Mutation[])) }), ([base, ms]) => {
      const x = mutate(base, ms);
      const r = only(MetainfoError, 'parseMetainfo', () => parseMetainfo(x));
      if (r.ok) {
        accepted++;
        metainfoInvariants(r.value, x);
      }
    }),
    5000,
  );
  t.diagnostic(`mutated torrents still accepted: ${accepted}`);
});

test('parseMetainfo: multi-file path elements from a hostile alphabet are never accepted when unsafe', (t) => {
  check(
    t,
    'hostile paths',
    fc.property(fc.array(fc.array(component, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }), fc.boolean(), (paths, pad) => {
      const s: TorrentShape = {
        name: b('root'),
        pieceLength: 16384,
        single: null,
        files: paths.map((p, i) => ({ length: 10 + i, path: p, pad: pad && i === 0, extra: null })),
        piecesMode: 'exact',
        announce: null,
        urlList: null,
        oddKeys: [],
      };
      const x = buildTorrent(s);
      const r = only(MetainfoError, 'parseMetainfo', () => parseMetainfo(x));
      const texts = paths.map((p) => p.map((c) => c.toString('utf8')));
      const validUtf8 = paths.every((p) => p.every((c) => Buffer.from(c.toString('utf8'), 'utf8').equals(c)));
      const allSafe = validUtf8 && texts.every((p) => p.every(safeElement));
      if (!allSafe) assert.equal(r.ok, false, `accepted unsafe paths ${JSON.stringify(texts)}`);
      if (r.ok) metainfoInvariants(r.value, x);
      // Even when the element check is bypassed, safeJoin keeps every join under the root.
      for (const p of texts) {
        try {
          const full = safeJoin(ROOT, p);
          assert.ok(full.startsWith(ROOT + path.sep), `safeJoin(${JSON.stringify(p)}) = ${full} escapes`);
        } catch (e) {
          assert.ok(!(e instanceof assert.AssertionError), (e as Error).message);
        }
      }
    }),
    5000,
  );
});

test(
  'parseMetainfo: for every accepted name the requester can store <base>.part and <base>.part.state (base: the name, or the info_hash when too long)',
  (t) => {
    check(
      t,
      'part names',
      fc.property(fc.integer({ min: 1, max: 255 }), (n) => {
        const name = 'x'.repeat(n);
        const x = buildTorrent({ name: b(name), pieceLength: 16384, single: 1000, files: [], piecesMode: 'exact', announce: null, urlList: null, oddKeys: [] });
        const r = only(MetainfoError, 'parseMetainfo', () => parseMetainfo(x));
        assert.ok(r.ok, `a ${n}-byte name is a valid file name`);
        const base = partBaseName(r.value);
        assert.ok(base === name || (n > 244 && base === r.value.infoHashHex), `base for a ${n}-byte name`);
        assert.doesNotThrow(() => storageFiles({ ...r.value, name: base }, ROOT, '.part'), `a ${n}-byte name accepted, but "<base>.part" cannot be stored`);
        assert.doesNotThrow(() => safeJoin(ROOT, [base + '.part.state']), `a ${n}-byte name accepted, but "<base>.part.state" cannot be stored`);
        assert.doesNotThrow(() => safeJoin(ROOT, [name]), 'the final name itself is storable');
      }),
      255,
    );
  },
);

test(
  'parseMetainfo: a valid UTF-8 name or path element comes back exactly as written (byte for byte)',
  (t) => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
      fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => '\uFEFF' + s),
    );
    check(
      t,
      'utf-8 names',
      fc.property(text, text, (name, element) => {
        fc.pre(safeElement(name) && safeElement(element) && element !== name);
        const x = buildTorrent({ name: Buffer.from(name, 'utf8'), pieceLength: 16384, single: null, files: [{ length: 10, path: [Buffer.from(element, 'utf8')], pad: false, extra: null }], piecesMode: 'exact', announce: null, urlList: null, oddKeys: [] });
        const r = only(MetainfoError, 'parseMetainfo', () => parseMetainfo(x));
        assert.ok(r.ok, `refused ${JSON.stringify([name, element])}: ${r.ok ? '' : r.error.message}`);
        assert.equal(r.value.name, name, 'name as written');
        assert.deepEqual(r.value.files[0]!.path, [element], 'path element as written');
      }),
      2000,
    );
  },
);

// ------------------------------------------------------------------------------- tracker query

/** Strings made of the characters that matter to a query parser, plus anything at all. */
const queryish = fc.oneof(
  fc.string({ unit: fc.constantFrom('%', '&', '=', '+', 'a', 'F', 'f', '0', '9', 'g', 'G', '\x00', '\xff', '\u0100', '\ud800', ' ', '#', '?'), maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);

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
      assert.ok(percentDecode(s).equals(x));
      // Inside a query: the value survives as one parameter.
      const q = parseRawQuery(`info_hash=${s}&x=1`, 64);
      assert.ok(q.get('info_hash')?.[0]?.equals(x));
    }),
    5000,
  );
});

const raw20 = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => Buffer.from(u));
const remoteAddr = fc.oneof(
  { weight: 4, arbitrary: fc.ipV4() },
  { weight: 2, arbitrary: fc.ipV6() },
  { weight: 1, arbitrary: fc.ipV4().map((ip) => `::ffff:${ip}`) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, '', 'localhost', '1.2.3', '::ffff:', 'garbage', '999.1.1.1') },
);

/** A valid announce query, as a client writes it, then optionally damaged. */
const announceQuery = fc
  .record({
    infoHash: raw20,
    peerId: raw20,
    port: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 65535 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 65536, -1, 99999999999) }),
    uploaded: fc.oneof({ weight: 8, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constantFrom(-1, Number.MAX_SAFE_INTEGER, 2 ** 60) }),
    left: fc.oneof({ weight: 8, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constantFrom(-5, 1e21) }),
    event: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('', 'started', 'completed', 'stopped', 'paused', 'empty') },
      { weight: 1, arbitrary: fc.constantFrom('constructor', '__proto__', 'STARTED', 'toString') },
    ),
    numwant: fc.option(fc.oneof(fc.nat(), fc.constantFrom(1e9, 10 ** 16, 10 ** 17, -1))),
    ip: fc.option(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 10 }))),
    extra: fc.array(
      fc.tuple(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('key', 'corrupt', 'supportcrypto', 'trackerid', '__proto__', 'constructor') },
          { weight: 1, arbitrary: fc.constantFrom('info_hash', 'peer_id', 'port', 'left', 'compact', 'no_peer_id', 'event', 'numwant') },
        ),
        fc.string({ maxLength: 8 }),
      ),
      { maxLength: 3 },
    ),
  })
  .map((q) => {
    const parts = [
      `info_hash=${percentEncode(q.infoHash)}`,
      `peer_id=${percentEncode(q.peerId)}`,
      `port=${q.port}`,
      `uploaded=${q.uploaded}`,
      `downloaded=0`,
      `left=${q.left}`,
      'compact=1',
    ];
    if (q.event) parts.push(`event=${q.event}`);
    if (q.numwant !== null) parts.push(`numwant=${q.numwant}`);
    if (q.ip !== null) parts.push(`ip=${encodeURIComponent(q.ip)}`);
    for (const [k, v] of q.extra) parts.push(`${k}=${encodeURIComponent(v)}`);
    return parts.join('&');
  });

/** Mutate a query string at the character level. */
const damagedQuery = fc.tuple(announceQuery, mutations).map(([q, ms]) => mutate(b(q), ms).toString('latin1'));

test('tracker query: parseAnnounce on random and mutated queries throws only TrackerRequestError', (t) => {
  let accepted = 0;
  check(
    t,
    'announces',
    fc.property(fc.oneof(announceQuery, damagedQuery, queryish), remoteAddr, fc.boolean(), (q, remote, trustIp) => {
      const r = only(TrackerRequestError, 'parseAnnounce', () => parseAnnounce(q, remote, TRACKER_LIMITS, { trustIpParam: trustIp }));
      if (!r.ok) return;
      accepted++;
      const a = r.value;
      assert.equal(a.infoHash.length, 20);
      assert.equal(a.peerId.length, 20);
      assert.ok(Number.isInteger(a.port) && a.port >= 1 && a.port <= 65535, 'port 1..65535');
      for (const n of [a.uploaded, a.downloaded, a.left]) assert.ok(Number.isSafeInteger(n) && n >= 0);
      assert.ok(a.numwant >= 0 && a.numwant <= TRACKER_LIMITS.maxNumwant, 'numwant capped');
      assert.equal(net.isIP(a.ip), a.family, 'ip matches its family');
      assert.ok(!a.ip.toLowerCase().startsWith('::ffff:') || !net.isIPv4(a.ip.slice(7)), 'IPv4-mapped addresses are normalised');
      if (!trustIp) {
        // The ip parameter is ignored: the address is the connection's, normalised.
        const want = remote!.toLowerCase().startsWith('::ffff:') && net.isIPv4(remote!.slice(7)) ? remote!.slice(7) : remote;
        assert.equal(a.ip, want, 'without --trust-ip-param the address is the connection address');
      }
    }),
    6000,
  );
  t.diagnostic(`announces accepted: ${accepted}`);
  assert.ok(accepted > 200, 'enough valid announces were generated');
});

test('tracker query: parseScrape on random and mutated queries throws only TrackerRequestError', (t) => {
  const scrapeQuery = fc
    .tuple(fc.array(fc.oneof(raw20, anyBytes(24)), { maxLength: 120 }), fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }))
    .map(([hs, junk]) => [...hs.map((h) => `info_hash=${percentEncode(h)}`), ...junk.map((j) => `k=${encodeURIComponent(j)}`)].join('&'));
  check(
    t,
    'scrapes',
    fc.property(fc.oneof(scrapeQuery, fc.tuple(scrapeQuery, mutations).map(([q, ms]) => mutate(b(q), ms).toString('latin1')), queryish), (q) => {
      const r = only(TrackerRequestError, 'parseScrape', () => parseScrape(q));
      if (r.ok) {
        assert.ok(r.value.length <= TRACKER_LIMITS.maxScrapeHashes);
        for (const h of r.value) assert.equal(h.length, 20);
      }
    }),
    3000,
  );
});

const peerInfo: fc.Arbitrary<PeerInfo> = fc.record({
  peerId: raw20,
  addr: fc.oneof({ weight: 3, arbitrary: fc.ipV4() }, { weight: 1, arbitrary: fc.ipV6() }),
  port: fc.integer({ min: 1, max: 65535 }),
}).map(({ peerId, addr, port }) => ({ peerId, ip: addr, family: net.isIPv4(addr) ? 4 : 6, port }));

/** The canonical text of an IPv6 address (WHATWG URL serialisation), an oracle independent of src. */
const canon6 = (ip: string) => new URL(`http://[${ip}]/`).hostname;
const v6FromBytes = (x: Buffer) => canon6(Array.from({ length: 8 }, (_, i) => x.readUInt16BE(i * 2).toString(16)).join(':'));

test('tracker answers: encodeAnnounceResponse decodes with our decoder and lists exactly the peers given', (t) => {
  check(
    t,
    'announce answers',
    fc.property(
      fc.array(peerInfo, { maxLength: 60 }),
      fc.boolean(),
      fc.boolean(),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: 100000 }),
      (peers, compact, noPeerId, complete, incomplete, interval) => {
        const out = encodeAnnounceResponse({ interval, minInterval: Math.max(1, interval >> 1), complete, incomplete, peers: peerSample(peers, !noPeerId) }, { compact, noPeerId });
        const d = decode(out);
        assert.ok(isDict(d));
        assert.equal(canonicalLength(d), out.length);
        assert.equal(d['interval'], interval);
        assert.equal(d['min interval'], Math.max(1, interval >> 1));
        assert.equal(d['complete'], complete);
        assert.equal(d['incomplete'], incomplete);
        const v4 = peers.filter((p) => p.family === 4);
        const v6 = peers.filter((p) => p.family === 6);
        if (compact) {
          const p4 = d['peers'];
          assert.ok(isBytes(p4) && p4.length === v4.length * 6, 'peers: 6 bytes per IPv4 peer');
          v4.forEach((p, i) => {
            assert.equal([...p4.subarray(i * 6, i * 6 + 4)].join('.'), p.ip);
            assert.equal(p4.readUInt16BE(i * 6 + 4), p.port);
          });
          const p6 = d['peers6'];
          if (v6.length === 0) assert.equal(p6, undefined, 'no peers6 without IPv6 peers');
          else {
            assert.ok(isBytes(p6) && p6.length === v6.length * 18, 'peers6: 18 bytes per IPv6 peer');
            v6.forEach((p, i) => {
              assert.equal(v6FromBytes(p6.subarray(i * 18, i * 18 + 16)), canon6(p.ip), `IPv6 ${p.ip}`);
              assert.equal(p6.readUInt16BE(i * 18 + 16), p.port);
            });
          }
          // The hand-written hot path must be canonical bencode (sorted keys).
          assert.deepEqual(Object.keys(d), Object.keys(d).sort());
        } else {
          const list = d['peers'];
          assert.ok(isList(list) && list.length === peers.length);
          // IPv4 peers first, then IPv6; addresses as canonical text (formatted from the bytes).
          const ordered = [...v4, ...v6];
          list.forEach((e, i) => {
            const p = ordered[i]!;
            assert.ok(isDict(e));
            if (p.family === 4) assert.equal(e['ip']?.toString(), p.ip);
            else assert.equal(canon6(e['ip']?.toString() ?? ''), canon6(p.ip));
            assert.equal(e['port'], p.port);
            if (noPeerId) assert.equal(e['peer id'], undefined);
            else assert.ok(isBytes(e['peer id']) && e['peer id'].equals(p.peerId));
          });
        }
      },
    ),
    3000,
  );
  check(
    t,
    'scrape answers',
    fc.property(fc.uniqueArray(fc.record({ infoHash: raw20, complete: fc.nat(), incomplete: fc.nat(), downloaded: fc.nat() }), { maxLength: 50, selector: (e) => e.infoHash.toString('hex') }), (entries) => {
      const out = encodeScrapeResponse(entries);
      const d = decode(out);
      assert.ok(isDict(d) && isDict(d['files']));
      assert.equal(canonicalLength(d), out.length);
      const files = d['files'];
      assert.equal(Object.keys(files).length, entries.length);
      for (const e of entries) {
        const f = files[e.infoHash.toString('latin1')];
        assert.ok(isDict(f));
        assert.equal(f['complete'], e.complete);
        assert.equal(f['incomplete'], e.incomplete);
        assert.equal(f['downloaded'], e.downloaded);
      }
    }),
    1000,
  );
});

// ------------------------------------------------------------------------- tracker client reply

const replyPeerEntry: fc.Arbitrary<G> = fc
  .record({
    ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 12 }), fc.constantFrom('', '1.2.3.4\0', '::1%eth0', '999.0.0.1', '1.2.3.4 ')),
    port: fc.oneof(fc.integer({ min: -2, max: 70000 }), fc.constantFrom(0, 65535, 65536, Number.MAX_SAFE_INTEGER)),
    id: fc.option(anyBytes(24)),
    portAsString: fc.boolean(),
  })
  .map(({ ip, port, id, portAsString }) => {
    const d: Array<[Buffer, G]> = [
      [b('ip'), bs(Buffer.from(ip, 'utf8'))],
      [b('port'), portAsString ? bs(String(port)) : int(port)],
    ];
    if (id) d.push([b('peer id'), bs(id)]);
    return { t: 'd', v: d };
  });

const trackerReplyTree: fc.Arbitrary<G> = fc
  .record({
    failure: fc.option(fc.oneof(anyBytes(10).map(bs), integer.map(int)), { freq: 6 }),
    interval: fc.option(fc.oneof(integer.map(int), anyBytes(3).map(bs))),
    peers: fc.oneof(
      anyBytes(80).map(bs),
      fc.integer({ min: 0, max: 2500 }).map((n) => bs(Buffer.alloc(n * 6 + (n % 4), 0x7f))),
      fc.array(fc.oneof({ weight: 5, arbitrary: replyPeerEntry }, { weight: 1, arbitrary: gValue }), { maxLength: 12 }).map((v): G => ({ t: 'l', v })),
      gValue,
    ),
    peers6: fc.option(fc.oneof(anyBytes(60).map(bs), gValue)),
    extra: fc.option(gValue),
  })
  .map((r) => {
    const d: Array<[Buffer, G]> = [[b('peers'), r.peers]];
    if (r.failure) d.push([b('failure reason'), r.failure]);
    if (r.interval) d.push([b('interval'), r.interval]);
    if (r.peers6) d.push([b('peers6'), r.peers6]);
    if (r.extra) d.push([b('warning message'), r.extra]);
    return { t: 'd', v: d };
  });

test('tracker client: parseTrackerReply gives TrackerFailure or peers with ports 1..65535, valid IPs, at most 2000', (t) => {
  let ok = 0;
  check(
    t,
    'tracker replies',
    fc.property(
      fc.oneof(
        { weight: 4, arbitrary: trackerReplyTree.map((g) => refEncode(g)) },
        { weight: 2, arbitrary: fc.tuple(trackerReplyTree, mutations).map(([g, ms]) => mutate(refEncode(g), ms)) },
        { weight: 1, arbitrary: anyBytes(100) },
      ),
      (x) => {
        const r = only(TrackerFailure, 'parseTrackerReply', () => parseTrackerReply(x));
        if (!r.ok) return;
        ok++;
        const reply = r.value;
        assert.ok(reply.peers.length <= 2000, `${reply.peers.length} peers`);
        assert.ok(reply.interval >= 1 && reply.interval <= 86400 && Number.isInteger(reply.interval), 'interval held to sane bounds');
        for (const p of reply.peers) {
          assert.ok(Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535, `port ${p.port}`);
          assert.notEqual(net.isIP(p.ip), 0, `ip ${JSON.stringify(p.ip)} is an IP address`);
          if (p.peerId) assert.equal(p.peerId.length, 20);
        }
      },
    ),
    5000,
  );
  t.diagnostic(`replies parsed as answers: ${ok}`);
});

// --------------------------------------------------------------------------------- HTTP Range

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
      assert.ok(['none', 'range', 'unsatisfiable', 'invalid'].includes(r.kind));
      if (r.kind === 'range') {
        assert.ok(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end), 'integers');
        assert.ok(r.start >= 0 && r.start <= r.end && r.end <= n - 1, `bytes ${r.start}-${r.end} of ${n}`);
      }
    }),
    8000,
  );
});

// ----------------------------------------------------------------------------------- wire framing

/** The parser's buffered byte count (a private field: the bound is what this test is about). */
const buffered = (p: MessageParser) => (p as unknown as { buffered: number }).buffered;

const wireMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.constantFrom<Message>({ type: 'keep-alive' }, { type: 'choke' }, { type: 'unchoke' }, { type: 'interested' }, { type: 'not-interested' }),
  fc.nat({ max: 2 ** 32 - 1 }).map((index): Message => ({ type: 'have', index })),
  anyBytes(40).map((bits): Message => ({ type: 'bitfield', bits })),
  fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), fc.boolean()).map(
    ([index, begin, length, req]): Message => ({ type: req ? 'request' : 'cancel', index, begin, length }),
  ),
  fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), anyBytes(300)).map(([index, begin, block]): Message => ({ type: 'piece', index, begin, block })),
  fc.integer({ min: 0, max: 65535 }).map((port): Message => ({ type: 'port', port })),
  anyBytes(50).map((payload): Message => ({ type: 'extended', payload })),
  fc.integer({ min: 10, max: 255 }).filter((id) => id !== 20).map((id): Message => ({ type: 'unknown', id })),
);

/** Split `x` at the given cut points (random chunking, as a socket delivers). */
function chunks(x: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (x.length ? c % x.length : 0)))].sort((p, q) => p - q);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(x.subarray(prev, c));
    prev = c;
  }
  out.push(x.subarray(prev));
  return out;
}

test('wire MessageParser: random chunks give messages or WireError, and never buffer more than maxMessage + 4', (t) => {
  const stream = fc.oneof(
    // Valid messages, possibly with garbage spliced in.
    fc.tuple(fc.array(wireMessage, { maxLength: 12 }), mutations, fc.boolean()).map(([ms, mut, damage]) => {
      const x = Buffer.concat(ms.map(encodeMessage));
      return damage ? mutate(x, mut) : x;
    }),
    anyBytes(600),
    // Huge or just-over-the-limit length prefixes, then some bytes.
    fc.tuple(fc.constantFrom(0xffffffff, 0x7fffffff, 2 ** 24, 200_001, 200_000, 131_073), anyBytes(64)).map(([len, rest]) => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(len);
      return Buffer.concat([h, rest]);
    }),
  );
  check(
    t,
    'framing',
    fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 1, max: 200_000 }), (x, cuts, maxMessage) => {
      const p = new MessageParser({ maxMessage });
      for (const c of chunks(x, cuts)) {
        const r = only(WireError, 'push', () => p.push(c));
        if (!r.ok) return;
        assert.ok(buffered(p) <= maxMessage + 4, `buffered ${buffered(p)} bytes with maxMessage ${maxMessage}`);
      }
    }),
    5000,
  );
});

test('wire MessageParser: encode -> random chunking -> parse gives back the same messages', (t) => {
  check(
    t,
    'framing round trip',
    fc.property(fc.array(wireMessage, { maxLength: 15 }), fc.array(fc.nat(), { maxLength: 30 }), (ms, cuts) => {
      const x = Buffer.concat(ms.map(encodeMessage));
      const p = new MessageParser({ maxMessage: 1 << 16 });
      const got: Message[] = [];
      for (const c of chunks(x, cuts)) got.push(...p.push(c));
      assert.equal(buffered(p), 0);
      assert.deepEqual(got, ms);
    }),
    3000,
  );
});

test('wire MessageParser: a length prefix over the bound is refused as soon as its 4th byte arrives', (t) => {
  check(
    t,
    'huge prefixes',
    fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.nat({ max: 2 ** 32 - 1 }), fc.array(wireMessage, { maxLength: 3 }), (maxMessage, len, before) => {
      fc.pre(len > maxMessage);
      const p = new MessageParser({ maxMessage });
      for (const m of before) {
        const enc = encodeMessage(m);
        if (enc.length - 4 > maxMessage) return; // a leading message that is itself over the bound
        p.push(enc);
      }
      const h = Buffer.alloc(4);
      h.writeUInt32BE(len);
      for (let i = 0; i < 3; i++) assert.deepEqual(p.push(h.subarray(i, i + 1)), []);
      assert.throws(() => p.push(h.subarray(3)), WireError, 'the 4th byte of the prefix completes an over-long length');
      assert.ok(buffered(p) <= 4);
    }),
    3000,
  );
});

// --------------------------------------------------------------------------- client address

const hop = fc.oneof(
  { weight: 4, arbitrary: fc.ipV4() },
  { weight: 2, arbitrary: fc.ipV6() },
  { weight: 1, arbitrary: fc.ipV4().map((ip) => `::ffff:${ip}`) },
  { weight: 1, arbitrary: fc.constantFrom('127.0.0.1', '10.0.0.1', '10.1.2.3', '::1', 'fe80::1%eth0', 'unknown', '1.2.3.4:80', '[::1]', '', ' ', 'fe80::1%', '1.2.3.256', '01.2.3.4') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const cidrText = fc.oneof(
  fc.tuple(fc.ipV4(), fc.option(fc.integer({ min: -1, max: 33 }))).map(([ip, n]) => (n === null ? ip : `${ip}/${n}`)),
  fc.tuple(fc.ipV6(), fc.option(fc.integer({ min: -1, max: 129 }))).map(([ip, n]) => (n === null ? ip : `${ip}/${n}`)),
  fc.constantFrom('10.0.0.0/8', '127.0.0.0/8', '::1/128', '::/0', '0.0.0.0/0', '::ffff:10.0.0.0/104', '1.2.3.4/', '/8', '1.2.3.4/8/9', '1.2.3.4/ 8', 'fe80::/10'),
  fc.string({ maxLength: 12 }),
);

/** Independent CIDR membership with Node's BlockList (IPv4-mapped IPv6 counted as IPv4). */
function blockListHas(cidrs: Cidr[], ip: string): boolean {
  let a = ip.replace(/%.*$/, '');
  if (a.toLowerCase().startsWith('::ffff:') && net.isIPv4(a.slice(7))) a = a.slice(7);
  const fam = net.isIP(a);
  if (fam === 0) return false;
  // One family per list: a BlockList matches IPv4 addresses against IPv6 rules as IPv4-mapped,
  // while a CIDR of one family never matches the other here.
  const list = new net.BlockList();
  for (const c of cidrs) {
    if (c.family !== fam) continue;
    const addr = c.family === 4 ? [...c.bytes].join('.') : Array.from({ length: 8 }, (_, i) => c.bytes.readUInt16BE(i * 2).toString(16)).join(':');
    list.addSubnet(addr, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
  }
  return list.check(a, fam === 4 ? 'ipv4' : 'ipv6');
}

test('client address: parseCidr only throws Error; inCidr agrees with net.BlockList', (t) => {
  check(
    t,
    'cidrs',
    fc.property(cidrText, fc.array(hop, { maxLength: 4 }), (text, ips) => {
      let c: Cidr;
      try {
        c = timed('parseCidr', () => parseCidr(text));
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        assert.ok(e instanceof Error, 'an Error');
        return;
      }
      assert.ok(c.family === 4 ? c.bytes.length === 4 && c.prefix <= 32 : c.bytes.length === 16 && c.prefix <= 128);
      assert.ok(Number.isInteger(c.prefix) && c.prefix >= 0);
      for (const ip of ips) {
        const got = timed('inCidr', () => inCidr(ip, c));
        // Node's BlockList ignores zone ids like we do; compare only where both read an address.
        if (net.isIP(ip.replace(/%.*$/, '')) !== 0) assert.equal(got, blockListHas([c], ip), `inCidr(${ip}, ${text})`);
      }
    }),
    4000,
  );
});

test('client address: clientAddress never throws; the answer is the socket address or one of the hops', (t) => {
  const trusted = fc.array(cidrText, { maxLength: 3 }).map((ts) =>
    ts.flatMap((s) => {
      try {
        return [parseCidr(s)];
      } catch {
        return [];
      }
    }),
  );
  const header = fc.oneof(
    fc.tuple(fc.array(hop, { maxLength: 6 }), fc.constantFrom(',', ', ', ' ,')).map(([hs, sep]) => hs.join(sep)),
    fc.array(fc.array(hop, { maxLength: 3 }).map((hs) => hs.join(',')), { minLength: 1, maxLength: 3 }),
    fc.constant(undefined),
    fc.string({ maxLength: 20 }),
  );
  const socket = fc.oneof(fc.constantFrom('127.0.0.1', '10.0.0.1', '::1', '::ffff:10.0.0.1', undefined), hop);
  check(
    t,
    'client address',
    fc.property(socket, header, trusted, (s, h, tr) => {
      let got: string | undefined;
      try {
        got = timed('clientAddress', () => clientAddress(s, h, tr));
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        assert.fail(`clientAddress threw ${(e as Error).stack}`);
      }
      const hops = (Array.isArray(h) ? h.join(',') : (h ?? '')).split(',').map((x) => x.trim());
      assert.ok(got === s || hops.includes(got!), `${got} is neither the socket address ${s} nor a hop of ${JSON.stringify(h)}`);
      if (s === undefined || tr.length === 0 || h === undefined || !blockListHas(tr, s)) {
        assert.equal(got, s, 'without a trusted proxy on the socket the header is ignored');
      }
      if (got !== s) {
        // Everything to the right of the chosen hop was a trusted proxy.
        const i = hops.lastIndexOf(got!);
        for (const right of hops.slice(i + 1).filter(Boolean)) assert.ok(blockListHas(tr, right), `${right}, right of the client ${got}, is a trusted proxy`);
      }
    }),
    5000,
  );
});
