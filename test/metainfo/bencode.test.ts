import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  decode,
  decodeWithSpans,
  encode,
  encodeBinaryKeyDict,
  BencodeError,
  isDict,
  isList,
  isBytes,
  type BDict,
  type BValue,
} from '../../src/metainfo/bencode.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function asDict(v: BValue | undefined): BDict {
  assert.ok(isDict(v), 'expected a dict');
  return v;
}

function throwsBencode(input: Uint8Array, label: string): void {
  assert.throws(
    () => decode(input),
    (e: unknown) => {
      assert.ok(e instanceof BencodeError, `${label}: expected BencodeError, got ${String(e)}`);
      assert.equal(typeof e.offset, 'number');
      assert.match(e.message, /^invalid bencode at byte \d+: /);
      return true;
    },
    label,
  );
}

describe('bencode round trips', () => {
  test('integers: 0, negatives, 2^53-1, -(2^53-1)', () => {
    for (const n of [0, 1, -1, 42, -42, 1234567890, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
      const enc = encode(n);
      assert.equal(enc.toString('latin1'), `i${n}e`);
      assert.equal(decode(enc), n);
    }
  });

  test('byte strings with every byte value 0x00-0xFF come back exactly, as Buffers', () => {
    const all = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    const enc = encode(all);
    assert.deepEqual(enc.subarray(0, 4), b('256:'));
    const out = decode(enc);
    assert.ok(Buffer.isBuffer(out), 'a 256-byte string decodes to a Buffer');
    assert.ok(out.equals(all), 'all 256 byte values survive the round trip');
    // Empty string too.
    const empty = decode(encode(Buffer.alloc(0)));
    assert.ok(Buffer.isBuffer(empty), 'the empty string decodes to a Buffer');
    assert.equal(empty.length, 0);
  });

  test('JS strings are encoded as UTF-8 and decode to the same bytes', () => {
    const s = 'h\u00e9llo \u{1F600}';
    const out = decode(encode(s));
    assert.ok(isBytes(out), 'a JS string decodes to bytes');
    assert.equal(out.toString('utf8'), s);
    assert.equal(out.length, Buffer.byteLength(s));
  });

  test('nested lists and dicts round trip', () => {
    const value = {
      list: [1, -2, Buffer.from([0, 255]), [[], [3]], { inner: Buffer.from('x') }],
      empty: {},
      n: 0,
    };
    const enc = encode(value);
    assert.equal(
      enc.toString('latin1'),
      'd5:emptyde4:listli1ei-2e2:\x00\xfflleli3eeed5:inner1:xee1:ni0ee',
    );
    const out = asDict(decode(enc));
    assert.deepEqual(Object.keys(out), ['empty', 'list', 'n']);
    assert.equal(out['n'], 0);
    assert.deepEqual(Object.keys(asDict(out['empty'])), []);
    const list = out['list'];
    assert.ok(isList(list), 'list decodes to a list');
    assert.equal(list.length, 5);
    assert.equal(list[0], 1);
    assert.equal(list[1], -2);
    assert.ok(isBytes(list[2]) && list[2].equals(Buffer.from([0, 255])), 'list[2] is the bytes 00 ff');
    assert.ok(isList(list[3]), 'list[3] is a list');
    assert.deepEqual(list[3], [[], [3]]);
    const inner = asDict(list[4]);
    assert.ok(isBytes(inner['inner']) && inner['inner'].toString() === 'x', 'list[4].inner is the string x');
    // Re-encoding the decoded value gives the same bytes.
    assert.ok(encode(out).equals(enc), 're-encoding the decoded value gives the same bytes');
  });

  test('dict keys are sorted as raw bytes on encode (ASCII)', () => {
    const enc = encode({ b: 1, a: 2, B: 3, 'piece length': 4, pieces: 5, ' ': 6, aa: 7 });
    // ' ' (0x20) < 'B' (0x42) < 'a' < 'aa' < 'b' < 'piece length' (space 0x20 < 's') < 'pieces'
    assert.equal(enc.toString('latin1'), 'd1: i6e1:Bi3e1:ai2e2:aai7e1:bi1e12:piece lengthi4e6:piecesi5ee');
  });

  test(
    'dict keys are sorted as raw UTF-8 bytes on encode (non-BMP vs U+FFFF)',
    { todo: 'known limitation of the bencode package: string keys sort by UTF-16 code units; every key we encode is ASCII, and binary keys go through encodeBinaryKeyDict' },
    () => {
      // U+FFFF is EF BF BF in UTF-8, U+10000 is F0 90 80 80: byte order puts U+FFFF first,
      // UTF-16 order (D800 DC00 < FFFF) puts U+10000 first.
      const enc = encode({ '\u{10000}': 2, '\uffff': 1 });
      const keys = [...enc.subarray(1)].slice(0, 5);
      assert.deepEqual(Buffer.from(keys), Buffer.from('3:\xef\xbf\xbf', 'latin1'));
    },
  );

  test('undefined dict values are skipped on encode', () => {
    assert.equal(encode({ a: 1, b: undefined, c: 2 }).toString(), 'd1:ai1e1:ci2ee');
  });

  test('decode accepts a Uint8Array view at a non-zero offset', () => {
    const backing = new Uint8Array([0x78, 0x78, ...b('li7ee')]);
    const view = backing.subarray(2);
    assert.deepEqual(decode(view), [7]);
  });
});

describe('bencode hostile input', () => {
  const cases: Array<[string, string]> = [
    ['l-3:', 'negative string length inside a list'],
    ['4:ab', 'string length past the end'],
    ['i03e', 'leading zero'],
    ['i-0e', 'negative zero'],
    ['i-e', 'minus without digits'],
    ['ie', 'empty integer'],
    ['i1', 'unterminated integer'],
    ['i12345678901234567e', 'integer with 17 digits'],
    ['i9007199254740992e', 'integer 2^53 (not a safe integer)'],
    ['i-9007199254740992e', 'integer -2^53'],
    ['i9999999999999999e', '16-digit integer above 2^53'],
    ['i1.5e', 'decimal point'],
    ['i+1e', 'plus sign'],
    ['i 1e', 'space in integer'],
    ['99999999999:', 'huge string length'],
    ['99999999999999999999:', 'string length with 20 digits'],
    ['01:a', 'string length with leading zero'],
    ['-1:a', 'negative string length at top level'],
    ['1a', 'string length without colon'],
    ['d1:a', 'dict missing its value'],
    ['d1:ai1e', 'unterminated dict'],
    ['d', 'lone d'],
    ['l', 'lone l'],
    ['li1e', 'unterminated list'],
    ['d1:ai1e1:ai2ee', 'duplicate key'],
    ['di1ei2ee', 'integer key'],
    ['dlei1ee', 'list key'],
    ['d1:ae', 'key without value'],
    ['i1ei2e', 'trailing value'],
    ['0:x', 'trailing byte after empty string'],
    ['lee', 'trailing e'],
    ['', 'empty input'],
    ['x', 'unknown type byte'],
    ['e', 'lone e'],
  ];
  for (const [input, label] of cases) {
    test(`${JSON.stringify(input)} (${label}) throws BencodeError`, () => {
      throwsBencode(b(input), label);
    });
  }

  test('error offsets point at the problem', () => {
    const offsetOf = (s: string): number => {
      try {
        decode(b(s));
      } catch (e) {
        assert.ok(e instanceof BencodeError, `${s}: a BencodeError, got ${String(e)}`);
        return e.offset;
      }
      assert.fail(`${s} decoded`);
    };
    assert.equal(offsetOf('i1ei2e'), 3); // trailing data starts after the first value
    assert.equal(offsetOf('d1:ai1e1:ai2ee'), 7); // the repeated key
    assert.equal(offsetOf('lx'), 1);
    assert.equal(offsetOf('4:ab'), 0);
  });

  test('duplicate key is refused even when not adjacent', () => {
    throwsBencode(b('d1:ai1e1:bi2e1:ai3ee'), 'duplicate a');
  });

  test('100 nested lists decode, 101 fail (maxDepth 100)', () => {
    let v = decode(b('l'.repeat(100) + 'e'.repeat(100)));
    let depth = 0;
    while (isList(v) && v.length > 0) {
      depth++;
      v = v[0]!;
    }
    assert.ok(isList(v), 'the innermost value is a list');
    assert.equal(depth + 1, 100);
    throwsBencode(b('l'.repeat(101) + 'e'.repeat(101)), '101 levels');
    // Dicts count the same way.
    assert.doesNotThrow(() => decode(b('d1:a'.repeat(99) + 'de' + 'e'.repeat(99))));
    throwsBencode(b('d1:a'.repeat(100) + 'de' + 'e'.repeat(100)), '101 dict levels');
  });

  test('maxDepth is a parameter with the same boundary', () => {
    assert.deepEqual(decode(b('llee'), { maxDepth: 2, maxTokens: 100 }), [[]]);
    assert.throws(() => decode(b('llleee'), { maxDepth: 2, maxTokens: 100 }), BencodeError);
  });

  test('maxTokens bounds the number of values', () => {
    assert.deepEqual(decode(b('li1ei2ei3ee'), { maxDepth: 10, maxTokens: 4 }), [1, 2, 3]);
    assert.throws(() => decode(b('li1ei2ei3ee'), { maxDepth: 10, maxTokens: 3 }), BencodeError);
  });

  test('100,000 opening lists fail fast with BencodeError (no stack overflow)', () => {
    const t0 = performance.now();
    throwsBencode(b('l'.repeat(100_000)), 'deep list');
    throwsBencode(b('l'.repeat(100_000) + 'e'.repeat(100_000)), 'deep balanced list');
    throwsBencode(b('d1:a'.repeat(100_000)), 'deep dict');
    assert.ok(performance.now() - t0 < 1000, 'took too long');
  });

  test('a huge declared string length does not allocate (fails fast)', () => {
    const t0 = performance.now();
    throwsBencode(b('9999999999999999:abc'), '16-digit length');
    assert.ok(performance.now() - t0 < 200, `a 16-digit length is refused in under 200 ms: ${(performance.now() - t0).toFixed(0)} ms`);
  });
});

describe('bencode decoding details', () => {
  test('unsorted dict keys are tolerated', () => {
    const d = asDict(decode(b('d1:bi1e1:ai2ee')));
    assert.equal(d['a'], 2);
    assert.equal(d['b'], 1);
    assert.deepEqual(Object.keys(d), ['b', 'a']);
  });

  test('__proto__ key becomes an own property, prototypes are not touched', () => {
    const d = asDict(decode(b('d9:__proto__d1:xi1eee')));
    assert.equal(Object.getPrototypeOf(d), null);
    assert.ok(Object.prototype.hasOwnProperty.call(d, '__proto__'), '__proto__ is an own key of the decoded dict');
    const inner = asDict(Object.getOwnPropertyDescriptor(d, '__proto__')?.value as BValue);
    assert.equal(inner['x'], 1);
    assert.equal(Object.getPrototypeOf(inner), null);
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
    assert.equal((d as Record<string, unknown>)['x'], undefined);
  });

  test('constructor / hasOwnProperty keys are plain data', () => {
    const d = asDict(decode(b('d11:constructori1e14:hasOwnPropertyi2ee')));
    assert.equal(d['constructor'], 1);
    assert.equal(d['hasOwnProperty'], 2);
    assert.equal(Object.getPrototypeOf(d), null);
  });

  test('binary keys are kept exactly as latin1 strings', () => {
    const key = Buffer.alloc(20);
    for (let i = 0; i < 20; i++) key[i] = 0x80 + i * 6; // 0x80 .. 0xF2
    key[19] = 0xff;
    const input = Buffer.concat([b('d20:'), key, b('i7ee')]);
    const d = asDict(decode(input));
    const keys = Object.keys(d);
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.length, 20);
    assert.ok(Buffer.from(keys[0]!, 'latin1').equals(key), 'the binary key keeps its 20 bytes (latin1)');
    assert.equal(d[key.toString('latin1')], 7);
  });

  test('strings are Buffers viewing the input', () => {
    const input = b('l3:abc0:e');
    const l = decode(input);
    assert.ok(isList(l), 'l3:abc0:e decodes to a list');
    assert.ok(isBytes(l[0]) && l[0].equals(b('abc')), "l[0] is 'abc'");
    assert.ok(isBytes(l[1]) && l[1].length === 0, 'l[1] is the empty string');
  });

  test('decodeWithSpans gives the exact byte span of each top-level value', () => {
    const info = { length: 10, name: Buffer.from('n\xff', 'latin1'), pieces: Buffer.alloc(20, 0xab) };
    const doc = { announce: 'http://t/a', info, list: [1, [2]], z: -5 };
    const input = encode(doc);
    const { value, spans } = decodeWithSpans(input);
    assert.ok(isDict(value), 'the document decodes to a dict');
    assert.deepEqual([...spans.keys()].sort(), ['announce', 'info', 'list', 'z']);
    const slice = (k: string): Buffer => {
      const s = spans.get(k);
      assert.ok(s, k);
      return input.subarray(s.start, s.end);
    };
    assert.ok(slice('info').equals(encode(info)), "the span of 'info' is the encoded info dict");
    assert.ok(slice('announce').equals(b('10:http://t/a')), "the span of 'announce' is 10:http://t/a");
    assert.ok(slice('list').equals(b('li1eli2eee')), "the span of 'list' is li1eli2eee");
    assert.ok(slice('z').equals(b('i-5e')), "the span of 'z' is i-5e");
    // Nested dict keys do not appear in spans.
    assert.equal(spans.has('length'), false);
  });

  test('decodeWithSpans on a non-dict gives no spans', () => {
    assert.equal(decodeWithSpans(b('ld1:ai1eee')).spans.size, 0);
    assert.equal(decodeWithSpans(b('i1e')).spans.size, 0);
  });
});

describe('encodeBinaryKeyDict', () => {
  test('sorts binary keys bytewise and decodes back', () => {
    const kFF = Buffer.alloc(20, 0xff);
    const k00 = Buffer.alloc(20, 0x00);
    const k80 = Buffer.alloc(20, 0x80);
    const k7F = Buffer.alloc(20, 0x7f);
    const enc = encodeBinaryKeyDict([
      [kFF, 1],
      [k00, { x: 2 }],
      [k80, Buffer.from('v')],
      [k7F, [4]],
    ]);
    // Keys appear in the output in byte order 00 < 7f < 80 < ff.
    const pos = (k: Buffer): number => enc.indexOf(Buffer.concat([b('20:'), k]));
    assert.ok(
      pos(k00) > 0 && pos(k00) < pos(k7F) && pos(k7F) < pos(k80) && pos(k80) < pos(kFF),
      `keys in byte order 00 < 7f < 80 < ff, at positions ${[k00, k7F, k80, kFF].map(pos).join(', ')}`,
    );
    const d = asDict(decode(enc));
    const keys = Object.keys(d).map((k) => Buffer.from(k, 'latin1'));
    assert.deepEqual(keys, [k00, k7F, k80, kFF]);
    assert.equal(d[kFF.toString('latin1')], 1);
    assert.equal(asDict(d[k00.toString('latin1')])['x'], 2);
    const v = d[k80.toString('latin1')];
    assert.ok(isBytes(v) && v.toString() === 'v', "the value under key 80 is 'v'");
    assert.deepEqual(d[k7F.toString('latin1')], [4]);
  });

  test('orders keys whose UTF-8 reading would misorder them', () => {
    // 0xC3 0xA9 is "é" in UTF-8; 0xE9 alone is invalid UTF-8. Bytewise: c3 < e9.
    const a = Buffer.from([0xe9]);
    const c = Buffer.from([0xc3, 0xa9]);
    const enc = encodeBinaryKeyDict([
      [a, 1],
      [c, 2],
    ]);
    assert.ok(enc.equals(Buffer.concat([b('d2:'), c, b('i2e1:'), a, b('i1ee')])), `the key 'c' sorts before 'a' as raw bytes: ${enc.toString('hex')}`);
  });

  test('empty dict', () => {
    assert.equal(encodeBinaryKeyDict([]).toString(), 'de');
  });
});
