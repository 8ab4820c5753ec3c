/** The pure UDP tracker client packets (BEP 15, BEP 41) byte by byte, and hostile answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_URL_DATA_BYTES,
  answerHeader,
  encodeAnnounce,
  encodeConnect,
  parseAnnounceAnswer,
  parseConnectAnswer,
  parseUdpTrackerUrl,
} from '../../src/tracker-client/udp-packets.ts';
import { TrackerFailure } from '../../src/tracker-client/reply.ts';
import type { AnnounceParams } from '../../src/tracker-client/announce-url.ts';
import { announceAnswer, compactPeers, connectAnswer, errorAnswer } from './fake-udp-tracker.ts';

const params: AnnounceParams = {
  infoHash: Buffer.alloc(20, 0xaa),
  peerId: Buffer.from('-NB0001-0123456789ab'),
  port: 51413,
  uploaded: 2 ** 40 + 5,
  downloaded: 7,
  left: 0,
  event: 'completed',
  numwant: 50,
};

test('parseUdpTrackerUrl: host, port, IPv6 brackets, BEP 41 URL data = path and query, no fragment', () => {
  assert.deepEqual(parseUdpTrackerUrl('udp://tracker.example:6969/announce?passkey=abc#x'), {
    host: 'tracker.example',
    port: 6969,
    urlData: Buffer.from('/announce?passkey=abc'),
  });
  assert.deepEqual(parseUdpTrackerUrl('UDP://[::1]:80'), { host: '::1', port: 80, urlData: Buffer.alloc(0) });
  assert.deepEqual(parseUdpTrackerUrl('udp://1.2.3.4:1?x=%00'), { host: '1.2.3.4', port: 1, urlData: Buffer.from('?x=%00') });
  for (const bad of ['udp://host/announce', 'udp://host:0/', 'udp://host:65536/', 'udp://:80/', 'udp://u@host:80/', 'http://host:80/', 'udp://[::1/', 'udp://host:80x']) {
    assert.throws(() => parseUdpTrackerUrl(bad), /not a udp tracker URL/, bad);
  }
  const long = `udp://h:1/${'a'.repeat(MAX_URL_DATA_BYTES)}`;
  assert.throws(() => parseUdpTrackerUrl(long), /over 2048 bytes/);
});

test('encodeConnect: magic 0x41727101980, action 0, the transaction id', () => {
  assert.equal(encodeConnect(0xdeadbeef).toString('hex'), '0000041727101980' + '00000000' + 'deadbeef');
});

test('encodeAnnounce: the 98-byte layout of BEP 15, then URL data in options of at most 255 bytes', () => {
  const connectionId = Buffer.from('0102030405060708', 'hex');
  const urlData = Buffer.from(`/announce?k=${'x'.repeat(588)}`); // 600 bytes: 255 + 255 + 90
  const b = encodeAnnounce(params, { connectionId, transactionId: 0x11223344, key: 0x99887766, urlData });
  assert.equal(b.length, 98 + 3 * 2 + 600);
  assert.deepEqual(b.subarray(0, 8), connectionId);
  assert.equal(b.readUInt32BE(8), 1, 'action announce');
  assert.equal(b.readUInt32BE(12), 0x11223344);
  assert.deepEqual(b.subarray(16, 36), params.infoHash);
  assert.deepEqual(b.subarray(36, 56), params.peerId);
  assert.equal(b.readBigUInt64BE(56), 7n, 'downloaded');
  assert.equal(b.readBigUInt64BE(64), 0n, 'left');
  assert.equal(b.readBigUInt64BE(72), 2n ** 40n + 5n, 'uploaded beyond 32 bits');
  assert.equal(b.readUInt32BE(80), 1, 'completed = 1');
  assert.equal(b.readUInt32BE(84), 0, 'IP 0: the source address');
  assert.equal(b.readUInt32BE(88), 0x99887766, 'key');
  assert.equal(b.readInt32BE(92), 50, 'numwant');
  assert.equal(b.readUInt16BE(96), 51413, 'port');
  assert.deepEqual([b[98], b[99]], [2, 255]);
  assert.deepEqual([b[98 + 257], b[98 + 258]], [2, 255]);
  assert.deepEqual([b[98 + 514], b[98 + 515]], [2, 90]);
  const joined = Buffer.concat([b.subarray(100, 355), b.subarray(357, 612), b.subarray(614)]);
  assert.deepEqual(joined, urlData, 'the chunks join to the URL data');

  const events = { none: 0, completed: 1, started: 2, stopped: 3, paused: 0 } as const;
  for (const [event, code] of Object.entries(events)) {
    const e = encodeAnnounce({ ...params, event: event as keyof typeof events, numwant: undefined }, { connectionId, transactionId: 1, key: 1, urlData: Buffer.alloc(0) });
    assert.equal(e.length, 98, 'no URL data: no options');
    assert.equal(e.readUInt32BE(80), code, event);
    assert.equal(e.readInt32BE(92), -1, 'no numwant: -1, the tracker default');
  }
});

test('answerHeader: action and transaction id, null under 8 bytes', () => {
  assert.equal(answerHeader(Buffer.alloc(7)), null);
  assert.deepEqual(answerHeader(connectAnswer(42, Buffer.alloc(8))), { action: 0, transactionId: 42 });
});

test('parseConnectAnswer: the id; an error packet; truncated or wrong action refused', () => {
  const id = Buffer.from('a1a2a3a4a5a6a7a8', 'hex');
  assert.deepEqual(parseConnectAnswer(connectAnswer(1, id)), { ok: true, value: id });
  assert.deepEqual(parseConnectAnswer(errorAnswer(1, 'go\naway\x00')), { ok: false, message: 'go away' });
  assert.deepEqual(parseConnectAnswer(errorAnswer(1, '')), { ok: false, message: 'no reason given' });
  assert.equal((parseConnectAnswer(errorAnswer(1, 'x'.repeat(5000))) as { message: string }).message.length, 300, 'message cut');
  assert.throws(() => parseConnectAnswer(connectAnswer(1, id).subarray(0, 15)), (e: Error) => e instanceof TrackerFailure && /truncated connect/.test(e.message));
  assert.throws(() => parseConnectAnswer(announceAnswer(1, { interval: 1, leechers: 0, seeders: 0, peers: Buffer.alloc(0) })), /action 1 in answer to connect/);
});

test('parseAnnounceAnswer: counts, 6-byte peers (IPv4) or 18-byte (IPv6), bounded', () => {
  const peers = compactPeers('1.2.3.4:6881', '5.6.7.8:0', '9.9.9.9:1');
  const v4 = parseAnnounceAnswer(Buffer.concat([announceAnswer(7, { interval: 600, leechers: 4, seeders: 5, peers }), Buffer.from([1, 2, 3])]), 4);
  assert.deepEqual(v4, {
    ok: true,
    value: { interval: 600, incomplete: 4, complete: 5, peers: [{ ip: '1.2.3.4', port: 6881 }, { ip: '9.9.9.9', port: 1 }] },
  });
  const v6peer = Buffer.concat([Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.from([0x1a, 0xe1])]);
  const v6 = parseAnnounceAnswer(announceAnswer(7, { interval: 0, leechers: 0, seeders: 0, peers: v6peer }), 6);
  assert.deepEqual(v6, { ok: true, value: { interval: 1, incomplete: 0, complete: 0, peers: [{ ip: '2001:db8::1', port: 6881 }] } });
  const huge = parseAnnounceAnswer(announceAnswer(7, { interval: 2 ** 32 - 1, leechers: 0, seeders: 0, peers: Buffer.alloc(65_000, 1) }), 4);
  assert.ok(huge.ok, `an interval of 2^32-1 and 65 000 bytes of peers still parse: ${huge.ok ? 'ok' : huge.message}`);
  assert.equal(huge.value.peers.length, 2000, 'at most MAX_REPLY_PEERS');
  assert.equal(huge.value.interval, 24 * 3600, 'interval held to a day');
  assert.deepEqual(parseAnnounceAnswer(errorAnswer(7, 'torrent not registered'), 4), { ok: false, message: 'torrent not registered' });
  assert.throws(() => parseAnnounceAnswer(announceAnswer(7, { interval: 1, leechers: 0, seeders: 0, peers: Buffer.alloc(0) }).subarray(0, 19), 4), /truncated announce/);
  assert.throws(() => parseAnnounceAnswer(connectAnswer(7, Buffer.alloc(8)), 4), /action 0 in answer to announce/);
});

test('fuzz: random, truncated and mutated answers give a value or a TrackerFailure, never another error', () => {
  const good = [
    connectAnswer(1, Buffer.alloc(8, 1)),
    announceAnswer(1, { interval: 60, leechers: 1, seeders: 1, peers: compactPeers('1.2.3.4:5', '6.7.8.9:10') }),
    errorAnswer(1, 'nope'),
  ];
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 5000; i++) {
    let b: Buffer;
    const base = good[rand(good.length)]!;
    switch (rand(3)) {
      case 0:
        b = Buffer.from(Array.from({ length: rand(64) }, () => rand(256)));
        break;
      case 1:
        b = base.subarray(0, rand(base.length + 1));
        break;
      default:
        b = Buffer.from(base);
        for (let k = 0; k < 3; k++) if (b.length) b[rand(b.length)] = rand(256);
        if (b.length >= 4 && rand(2)) b.writeUInt32BE(rand(5), 0);
    }
    for (const parse of [parseConnectAnswer, (x: Buffer) => parseAnnounceAnswer(x, 4), (x: Buffer) => parseAnnounceAnswer(x, 6)]) {
      try {
        const r = parse(b);
        assert.ok(r.ok ? r.value !== undefined : typeof r.message === 'string', 'a parse gives a value or an error message');
      } catch (e) {
        assert.ok(e instanceof TrackerFailure, `${b.toString('hex')}: ${(e as Error).stack}`);
      }
    }
  }
  assert.throws(() => parseConnectAnswer(Buffer.alloc(7)), /truncated connect answer \(7 bytes\)/);
  assert.throws(() => parseAnnounceAnswer(Buffer.alloc(0), 4), /truncated announce answer \(0 bytes\)/);
});
