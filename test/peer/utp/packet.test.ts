/** uTP packets (src/peer/utp/packet.ts): header round trips, extensions, sequence wrap-around, hostile bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildSack,
  decodePacket,
  encodePacket,
  type HeaderFields,
  sackedSeqs,
  seqAdd,
  seqDiff,
  seqLess,
  ST_DATA,
  ST_RESET,
  ST_STATE,
  ST_SYN,
  UtpPacketError,
} from '../../../src/peer/utp/packet.ts';
import { anyBytes, check, mutate, mutations, only } from '../../support/fuzz.ts';

const header = (over: Partial<HeaderFields> = {}): HeaderFields => ({
  type: ST_DATA,
  connectionId: 0x1234,
  timestamp: 0xdeadbeef,
  timestampDiff: 42,
  wndSize: 1 << 20,
  seqNr: 0xfffe,
  ackNr: 7,
  ...over,
});

test('the header is 20 bytes in BEP 29 order: type<<4|1, extension, ids and counters big-endian', () => {
  const buf = encodePacket(header({ type: ST_SYN }), Buffer.from('hi'));
  assert.equal(buf.toString('hex'), '4100' + '1234' + 'deadbeef' + '0000002a' + '00100000' + 'fffe' + '0007' + '6869');
  const p = decodePacket(buf);
  assert.equal(p.type, ST_SYN);
  assert.equal(p.connectionId, 0x1234);
  assert.equal(p.timestamp, 0xdeadbeef);
  assert.equal(p.timestampDiff, 42);
  assert.equal(p.wndSize, 1 << 20);
  assert.equal(p.seqNr, 0xfffe);
  assert.equal(p.ackNr, 7);
  assert.equal(p.sack, null);
  assert.equal(p.payload.toString(), 'hi');
});

test('a selective ACK round-trips: bit 0 of byte 0 is ack_nr + 2, and seqs wrap', () => {
  const ackNr = 0xfffd;
  const received = [seqAdd(ackNr, 2), seqAdd(ackNr, 5), seqAdd(ackNr, 40)];
  const sack = buildSack(ackNr, received)!;
  assert.equal(sack.length, 8, 'bit 38 needs 5 bytes, rounded up to a multiple of 4');
  assert.equal(sack[0], 0b1001);
  const p = decodePacket(encodePacket(header({ type: ST_STATE, ackNr }), undefined, sack));
  assert.deepEqual(sackedSeqs(p.ackNr, p.sack!), received);
  assert.deepEqual(received, [0xffff, 2, 37]);
  assert.equal(buildSack(ackNr, []), null);
  assert.equal(buildSack(ackNr, [seqAdd(ackNr, 1), ackNr]), null, 'ack_nr + 1 and older are never in a SACK');
});

test('unknown extensions are skipped; a SACK of any length is taken (libtorrent sends (span + 7) / 8 bytes); a chain that is truncated, too long or an empty SACK is rejected', () => {
  const base = encodePacket(header()).subarray(0, 20);
  const withExt = (...links: [number, Buffer][]) => {
    const parts: Buffer[] = [Buffer.from(base)];
    parts[0]![1] = links[0]![0];
    links.forEach(([, body], i) => parts.push(Buffer.from([links[i + 1]?.[0] ?? 0, body.length]), body));
    return Buffer.concat([...parts, Buffer.from('data')]);
  };
  const p = decodePacket(withExt([2, Buffer.alloc(8, 0xff)], [1, Buffer.from([1, 0, 0, 0])], [9, Buffer.alloc(3)]));
  assert.deepEqual([...p.sack!], [1, 0, 0, 0]);
  assert.equal(p.payload.toString(), 'data');
  assert.deepEqual([...decodePacket(withExt([1, Buffer.from([5])])).sack!], [5]);
  assert.throws(() => decodePacket(withExt([1, Buffer.alloc(0)])), UtpPacketError);
  assert.throws(() => decodePacket(withExt(...Array.from({ length: 9 }, () => [5, Buffer.alloc(1)] as [number, Buffer]))), /chain too long/);
  const truncated = Buffer.concat([base, Buffer.from([0, 200]), Buffer.alloc(10)]);
  truncated[1] = 1;
  assert.throws(() => decodePacket(truncated), /truncated extension/);
  const noExtHeader = Buffer.from(base);
  noExtHeader[1] = 1;
  assert.throws(() => decodePacket(noExtHeader), /truncated extension header/);
});

test('short datagrams, other versions and unknown types are rejected with UtpPacketError', () => {
  assert.throws(() => decodePacket(Buffer.alloc(19)), UtpPacketError);
  const v2 = encodePacket(header());
  v2[0] = (ST_DATA << 4) | 2;
  assert.throws(() => decodePacket(v2), /version 2/);
  const t5 = encodePacket(header());
  t5[0] = (5 << 4) | 1;
  assert.throws(() => decodePacket(t5), /type 5/);
  assert.throws(() => decodePacket(Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe')), UtpPacketError, 'a DHT message is not uTP');
});

test('sequence arithmetic wraps at 16 bits', () => {
  assert.equal(seqAdd(0xffff, 1), 0);
  assert.equal(seqDiff(0, 0xffff), 1);
  assert.equal(seqDiff(0xffff, 0), -1);
  assert.ok(seqLess(0xfff0, 5), '0xfff0 is before 5 (wrapped)');
  assert.ok(!seqLess(5, 0xfff0), '5 is not before 0xfff0 (wrapped)');
  assert.ok(!seqLess(9, 9), '9 is not before itself');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: -32767, max: 32767 }), (a, n) => {
      assert.equal(seqDiff(seqAdd(a, n), a), n);
      assert.equal(seqLess(a, seqAdd(a, n)), n > 0);
    }),
  );
});

test('fuzz: any fields round-trip, and mutated or random datagrams only ever throw UtpPacketError', (t) => {
  const fields = fc.record({
    type: fc.constantFrom(0, 1, 2, 3, 4) as fc.Arbitrary<0 | 1 | 2 | 3 | 4>,
    connectionId: fc.integer({ min: 0, max: 0xffff }),
    timestamp: fc.integer({ min: 0, max: 0xffffffff }),
    timestampDiff: fc.integer({ min: 0, max: 0xffffffff }),
    wndSize: fc.integer({ min: 0, max: 0xffffffff }),
    seqNr: fc.integer({ min: 0, max: 0xffff }),
    ackNr: fc.integer({ min: 0, max: 0xffff }),
  });
  const sack = fc.option(fc.integer({ min: 1, max: 8 }).chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 4 }).map((u) => Buffer.from(u))));
  check(t, 'round trip', fc.property(fields, anyBytes(64), sack, (h, payload, s) => {
    const p = decodePacket(encodePacket(h, payload, s));
    assert.deepEqual({ ...p, sack: p.sack && Buffer.from(p.sack), payload: Buffer.from(p.payload) }, { ...h, sack: s, payload });
  }), 300);
  check(t, 'mutations', fc.property(fields, anyBytes(32), sack, mutations, (h, payload, s, ms) => {
    const out = only(UtpPacketError, 'decodePacket', () => decodePacket(mutate(encodePacket(h, payload, s), ms)));
    if (out.ok) assert.ok(out.value.payload.length <= 64 + 32 * 4 + 64, 'a view, never an allocation by a claimed length');
  }), 1000);
  check(t, 'random bytes', fc.property(anyBytes(80), (bytes) => {
    only(UtpPacketError, 'decodePacket', () => decodePacket(bytes));
  }), 1000);
  assert.equal(decodePacket(encodePacket(header({ type: ST_RESET }))).type, ST_RESET);
});
