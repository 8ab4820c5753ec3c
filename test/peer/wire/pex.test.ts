/**
 * The ut_pex codec (BEP 11): round trips of IPv4 and IPv6 peers with flags, the 50 + 50 cap on
 * what we send, and hostile bodies: thousands of peers (cut at 200, never a crash), lengths that
 * are not whole entries, nesting, non-dicts, addresses nobody can dial. Plus: a private torrent's
 * extension handshake offers no ut_pex (BEP 27).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePex, encodePex, MAX_PEX_SEND, MAX_PEX_TAKE, PEX_FLAGS, type PexPeer } from '../../../src/peer/wire/pex.ts';
import { decodeExtHandshake, encodeExtHandshake } from '../../../src/peer/wire/extensions.ts';
import { WireError } from '../../../src/peer/wire/messages.ts';
import { encode } from '../../../src/metainfo/bencode.ts';

function v4Peers(n: number, port = 6881): Buffer {
  const out = Buffer.alloc(n * 6);
  for (let i = 0; i < n; i++) {
    out.writeUInt32BE(0x0a000001 + i, i * 6); // 10.0.0.1 upwards
    out.writeUInt16BE(port, i * 6 + 4);
  }
  return out;
}

test('round trip: IPv4 and IPv6 added with their flags, dropped of both families', () => {
  const added: PexPeer[] = [
    { ip: '127.0.0.2', port: 6881, flags: PEX_FLAGS.seed | PEX_FLAGS.reachable },
    { ip: '2001:db8::1', port: 51413, flags: PEX_FLAGS.utp },
    { ip: '10.1.2.3', port: 1, flags: 0 },
  ];
  const dropped: PexPeer[] = [
    { ip: '192.168.1.9', port: 65535, flags: 0 },
    { ip: '::1', port: 7000, flags: 0 },
  ];
  const body = encodePex({ added, dropped });
  const back = decodePex(body);
  assert.equal(back.cut, 0);
  // IPv4 first, then IPv6 (the order of the lists in the message).
  assert.deepEqual(back.added, [added[0], added[2], added[1]]);
  assert.deepEqual(back.dropped, dropped);
  // The dict holds the BEP 11 keys, compact.
  const s = body.toString('latin1');
  for (const k of ['5:added', '7:added.f', '6:added6', '8:added6.f', '7:dropped', '8:dropped6']) assert.ok(s.includes(k), k);
  assert.ok(s.includes('5:added12:'), 'two IPv4 peers: 12 bytes');
});

test(`encode: more than ${MAX_PEX_SEND} added or dropped is a caller's bug, and so is a host name or port 0`, () => {
  const many = Array.from({ length: MAX_PEX_SEND + 1 }, (_, i) => ({ ip: `10.0.0.${i + 1}`, port: 6881, flags: 0 }));
  assert.throws(() => encodePex({ added: many, dropped: [] }), RangeError);
  assert.throws(() => encodePex({ added: [], dropped: many }), RangeError);
  assert.doesNotThrow(() => encodePex({ added: many.slice(0, MAX_PEX_SEND), dropped: many.slice(1) }));
  assert.throws(() => encodePex({ added: [{ ip: 'example.org', port: 1, flags: 0 }], dropped: [] }), RangeError);
  assert.throws(() => encodePex({ added: [{ ip: '10.0.0.1', port: 0, flags: 0 }], dropped: [] }), RangeError);
});

test(`hostile: thousands of peers are cut at ${MAX_PEX_TAKE} added and ${MAX_PEX_TAKE} dropped, quickly`, () => {
  const t0 = performance.now();
  const m = decodePex(encode({ added: v4Peers(20_000), 'added.f': Buffer.alloc(20_000, 2), added6: Buffer.alloc(18 * 1000, 0x20), dropped: v4Peers(5000) }));
  assert.equal(m.added.length, MAX_PEX_TAKE);
  assert.equal(m.dropped.length, MAX_PEX_TAKE);
  assert.equal(m.cut, 20_000 - MAX_PEX_TAKE + 1000 + 5000 - MAX_PEX_TAKE);
  assert.deepEqual(m.added[0], { ip: '10.0.0.1', port: 6881, flags: 2 });
  assert.ok(performance.now() - t0 < 500, 'no work per peer beyond the cap');
});

test('hostile: bad lengths, wrong types, nesting, non-dicts and non-bencode are WireErrors', () => {
  let deep = Buffer.from('i1e');
  for (let i = 0; i < 10; i++) deep = Buffer.concat([Buffer.from('d1:x'), deep, Buffer.from('e')]);
  const bodies: Buffer[] = [
    encode({ added: Buffer.alloc(7) }), // not whole 6-byte entries
    encode({ added6: Buffer.alloc(20) }), // not whole 18-byte entries
    encode({ dropped: Buffer.alloc(5) }),
    encode({ added: [1, 2, 3] }), // a list where a byte string belongs
    encode({ added: 12 }),
    deep, // nested dicts beyond the depth limit
    encode({ x: Array.from({ length: 300 }, (_, i) => i) }), // too many values
    Buffer.from('li1ee'), // not a dict
    Buffer.from('d5:added6:abc'), // truncated
    Buffer.from('hello'),
    Buffer.alloc(0),
  ];
  for (const b of bodies) assert.throws(() => decodePex(b), WireError, b.toString('latin1').slice(0, 40));
});

test('flags count only when there is one per peer; unknown keys are ignored; an empty dict is no peers', () => {
  const m = decodePex(encode({ added: v4Peers(3), 'added.f': Buffer.from([1, 2]), v: 'x', extra: { a: 1 } }));
  assert.deepEqual(m.added.map((p) => p.flags), [0, 0, 0]);
  assert.deepEqual(decodePex(Buffer.from('de')), { added: [], dropped: [], cut: 0 });
});

test('entries nobody can dial are skipped: port 0, 0.0.0.0/8, multicast and reserved IPv4, ::, ff00::/8', () => {
  const v4 = Buffer.concat([
    Buffer.from([127, 0, 0, 1, 0, 0]), // port 0
    Buffer.from([0, 0, 0, 0, 0x1a, 0xe1]),
    Buffer.from([224, 0, 0, 1, 0x1a, 0xe1]),
    Buffer.from([255, 255, 255, 255, 0x1a, 0xe1]),
    Buffer.from([127, 0, 0, 9, 0x1a, 0xe1]), // the only good one
  ]);
  const v6 = Buffer.concat([Buffer.alloc(18, 0).fill(0x1a, 16), Buffer.concat([Buffer.from([0xff, 0x02]), Buffer.alloc(14), Buffer.from([0x1a, 0xe1])])]);
  const m = decodePex(encode({ added: v4, added6: v6 }));
  assert.deepEqual(m.added, [{ ip: '127.0.0.9', port: 6881, flags: 0 }]);
});

test('fuzz: any body decodes or throws a WireError, never more than the caps', () => {
  const entry = fc.uint8Array({ minLength: 0, maxLength: 2000 }).map((a) => Buffer.from(a));
  const dict = fc.record({ added: entry, 'added.f': entry, added6: entry, dropped: entry, dropped6: entry }, { requiredKeys: [] });
  fc.assert(
    fc.property(fc.oneof(dict.map((d) => encode(d)), entry), (body) => {
      try {
        const m = decodePex(body);
        assert.ok(
          m.added.length <= MAX_PEX_TAKE && m.dropped.length <= MAX_PEX_TAKE,
          `at most ${MAX_PEX_TAKE} added and dropped: ${m.added.length}, ${m.dropped.length}`,
        );
      } catch (e) {
        assert.ok(e instanceof WireError, String(e));
      }
    }),
    { numRuns: 500 },
  );
});

test('BEP 27: a private torrent offers no ut_pex in its extension handshake; a public one does, as sub-id 1', () => {
  const pub = decodeExtHandshake(encodeExtHandshake({ uploadOnly: false, reqq: 500 }));
  assert.equal(pub.m.get('ut_pex'), 1);
  const priv = decodeExtHandshake(encodeExtHandshake({ uploadOnly: false, reqq: 500, privateTorrent: true }));
  assert.equal(priv.m.has('ut_pex'), false);
  assert.equal(priv.m.get('upload_only'), 3, 'the other extensions stay');
});
