/**
 * For the fuzz suites: a reference bencode written independently of src (generated values with
 * raw-byte keys, their canonical encoding, what decode must return), and real torrents to mutate.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { type BDict, DEFAULT_LIMITS as BENCODE_LIMITS, type BValue, encode, isDict } from '../../src/metainfo/bencode.ts';
import { encodeTorrent } from '../../src/metainfo/build.ts';
import { anyBytes, b, bytesFrom, integer } from './fuzz.ts';

// -------------------------------------------------------------- a reference bencode (the oracle)

/** A generated bencode value with dict keys as raw bytes, in the order generated. */
export type G = { t: 'b'; v: Buffer } | { t: 'i'; v: number } | { t: 'l'; v: G[] } | { t: 'd'; v: Array<[Buffer, G]> };

/** Canonical BEP 3 encoding, written here independently of src: keys sorted as raw bytes. */
export function refEncode(g: G, sortKeys = true): Buffer {
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
export function expectedValue(g: G): BValue {
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
export function sameValue(a: BValue | undefined, e: BValue | undefined, at = '$'): void {
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
export function wellFormed(v: BValue, depth = 0): void {
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
export function canonicalLength(v: BValue): number {
  if (Buffer.isBuffer(v)) return String(v.length).length + 1 + v.length;
  if (typeof v === 'number') return String(v).length + 2;
  if (Array.isArray(v)) return 2 + v.reduce<number>((n, x) => n + canonicalLength(x), 0);
  let n = 2;
  for (const k of Object.keys(v)) n += String(k.length).length + 1 + k.length + canonicalLength(v[k]!);
  return n;
}

/** Keys: short, colliding often, binary (NUL, 0x80-0xFF), and prototype names. */
export const binaryKey = fc.oneof(
  { weight: 3, arbitrary: anyBytes(6) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'toString', 'info', 'piece length', '', 'a', '0', '1').map(bytesFrom) },
);

export function gTree(key: fc.Arbitrary<Buffer>): fc.Arbitrary<G> {
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

export const gValue = gTree(binaryKey);
export const gDict = fc.uniqueArray(fc.tuple(binaryKey, gValue), { maxLength: 8, selector: (e) => e[0].toString('latin1') }).map((v): G => ({ t: 'd', v }));

export const bs = (v: Buffer | string): G => ({ t: 'b', v: typeof v === 'string' ? b(v) : v });
export const int = (v: number): G => ({ t: 'i', v });

// Real torrents built with our own encoder (single file, folder, web seeds, odd keys).
export const sha = (s: string) => createHash('sha1').update(s).digest();
export const REAL_TORRENTS: Buffer[] = [
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
export const realTorrent = fc.constantFrom(...REAL_TORRENTS);
