/**
 * Property-based (fuzz) tests of the peer wire framing (MessageParser, src/peer/wire/messages.ts):
 * hostile and random input gives a value or the one expected error, never anything else, and never
 * a hang. Seeds and case counts: test/support/fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Message, MessageParser, WireError, encode as encodeMessage } from '../../src/peer/wire/messages.ts';
import { anyBytes, check, mutate, mutations, only } from '../support/fuzz.ts';

/** The parser's buffered byte count (a private field: the bound is what this test is about). */
const buffered = (p: MessageParser) => (p as unknown as { buffered: number }).buffered;

const wireMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.constantFrom<Message>({ type: 'keep-alive' }, { type: 'choke' }, { type: 'unchoke' }, { type: 'interested' }, { type: 'not-interested' }),
  fc.nat({ max: 2 ** 32 - 1 }).map((index): Message => ({ type: 'have', index })),
  fc.nat({ max: 2 ** 32 - 1 }).map((index): Message => ({ type: 'suggest', index })),
  fc.nat({ max: 2 ** 32 - 1 }).map((index): Message => ({ type: 'allowed-fast', index })),
  fc.constantFrom<Message>({ type: 'have-all' }, { type: 'have-none' }),
  fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 })).map(([index, begin, length]): Message => ({ type: 'reject', index, begin, length })),
  anyBytes(40).map((bits): Message => ({ type: 'bitfield', bits })),
  fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), fc.boolean()).map(
    ([index, begin, length, req]): Message => ({ type: req ? 'request' : 'cancel', index, begin, length }),
  ),
  fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }), anyBytes(300)).map(([index, begin, block]): Message => ({ type: 'piece', index, begin, block })),
  fc.integer({ min: 0, max: 65535 }).map((port): Message => ({ type: 'port', port })),
  fc.tuple(fc.nat({ max: 255 }), anyBytes(50)).map(([id, payload]): Message => ({ type: 'extended', id, payload })),
  fc.integer({ min: 18, max: 255 }).filter((id) => id !== 20).map((id): Message => ({ type: 'unknown', id })),
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
      assert.ok(buffered(p) <= 4, `at most the 4 prefix bytes stay buffered: ${buffered(p)}`);
    }),
    3000,
  );
});
