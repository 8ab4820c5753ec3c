/** BEP 15 / BEP 41 packets, byte by byte: what the parser accepts, refuses and drops; the answers' layout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeAnnounce, encodeConnect, encodeError, encodeScrape, parseAnnounce, parseScrape, parseUrlData, readHeader, MAX_ERROR_MESSAGE, MAX_URL_DATA, UdpPacketError,
} from '../../../src/tracker/udp/packets.ts';
import { announcePacket, connectPacket, scrapePacket, urlDataOptions } from './udp-probe.ts';

const ID = Buffer.from('0102030405060708', 'hex');
const HASH = Buffer.alloc(20, 0xab);
const PEER = Buffer.alloc(20, 0xcd);

test('headers: connect needs the magic; announce and scrape are read; short and unknown datagrams are dropped', () => {
  assert.deepEqual(readHeader(connectPacket(0xdeadbeef)), { action: 'connect', transactionId: 0xdeadbeef });
  const noMagic = connectPacket(1);
  noMagic[7]! ^= 1;
  assert.equal(readHeader(noMagic), null);
  assert.deepEqual(readHeader(scrapePacket(ID, 5, [])), { action: 'scrape', transactionId: 5 });
  assert.deepEqual(readHeader(announcePacket({ connectionId: ID, transactionId: 6, infoHash: HASH, port: 1 })), { action: 'announce', transactionId: 6 });
  assert.equal(readHeader(connectPacket(1).subarray(0, 15)), null);
  assert.equal(readHeader(Buffer.alloc(0)), null);
  for (const action of [3, 4, 0xffffffff]) {
    const b = scrapePacket(ID, 1, []);
    b.writeUInt32BE(action, 8);
    assert.equal(readHeader(b), null, `action ${action}`);
  }
});

test('announce: every field at its offset; events 0-3; negative counters and numwant kept as such', () => {
  const b = announcePacket({
    connectionId: ID, transactionId: 9, infoHash: HASH, peerId: PEER, downloaded: 5n, left: 2n ** 40n, uploaded: 7n, event: 2, ip: 0x7f000002, key: 0x1234, numwant: 33, port: 6881,
  });
  const a = parseAnnounce(b);
  assert.deepEqual(a.infoHash, HASH);
  assert.deepEqual(a.peerId, PEER);
  assert.deepEqual([a.downloaded, a.left, a.uploaded], [5, 2 ** 40, 7]);
  assert.equal(a.event, 'started');
  assert.deepEqual([a.ipField, a.key, a.numwant, a.port, a.urlData], [0x7f000002, 0x1234, 33, 6881, '']);
  assert.deepEqual(['none', 'completed', 'started', 'stopped'], [0, 1, 2, 3].map((event) => parseAnnounce(announcePacket({ connectionId: ID, transactionId: 1, infoHash: HASH, event, port: 1 })).event));
  const neg = parseAnnounce(announcePacket({ connectionId: ID, transactionId: 1, infoHash: HASH, left: -1n, numwant: -1, port: 1 }));
  assert.deepEqual([neg.left, neg.numwant], [-1, -1]);
  // Views into the datagram, not copies (node:dgram gives each datagram its own buffer).
  assert.equal(a.infoHash.buffer, b.buffer);
});

test('announce refusals: short, unknown event, port 0', () => {
  const ok = announcePacket({ connectionId: ID, transactionId: 1, infoHash: HASH, port: 1 });
  assert.throws(() => parseAnnounce(ok.subarray(0, 97)), UdpPacketError);
  assert.throws(() => parseAnnounce(announcePacket({ connectionId: ID, transactionId: 1, infoHash: HASH, event: 4, port: 1 })), /unknown event/);
  assert.throws(() => parseAnnounce(announcePacket({ connectionId: ID, transactionId: 1, infoHash: HASH, port: 0 })), /port/);
});

test('BEP 41: URL data parts are concatenated; NOP and unknown options skipped; EndOfOptions stops', () => {
  const url = '/announce?passkey=' + 'x'.repeat(300);
  assert.equal(parseAnnounce(announcePacket({ connectionId: ID, transactionId: 1, infoHash: HASH, port: 1, options: urlDataOptions(url) })).urlData, url);
  const opts = Buffer.from([1, 2, 3, 0x2f, 0x61, 0x62, 1, 9, 2, 0xff, 0xfe, 2, 2, 0x3f, 0x6b, 0, 2, 5, 1, 1, 1]);
  assert.equal(parseUrlData(opts, 0), '/ab?k');
  assert.equal(parseUrlData(Buffer.alloc(0), 0), '');
});

test('BEP 41 refusals: an option past the datagram, a missing length, URL data over the cap', () => {
  assert.throws(() => parseUrlData(Buffer.from([2, 5, 0x61]), 0), /longer than the packet/);
  assert.throws(() => parseUrlData(Buffer.from([1, 2]), 0), /without its length/);
  assert.throws(() => parseUrlData(urlDataOptions('a'.repeat(MAX_URL_DATA + 1)), 0), /URL data longer/);
  assert.equal(parseUrlData(urlDataOptions('a'.repeat(MAX_URL_DATA)), 0).length, MAX_URL_DATA);
});

test('scrape: 0 to 74 hashes; a partial hash or 75 hashes refused', () => {
  const hashes = Array.from({ length: 74 }, (_, i) => Buffer.alloc(20, i));
  assert.deepEqual(parseScrape(scrapePacket(ID, 1, hashes)), hashes);
  assert.deepEqual(parseScrape(scrapePacket(ID, 1, [])), []);
  assert.throws(() => parseScrape(scrapePacket(ID, 1, [...hashes, HASH])), /at most 74/);
  assert.throws(() => parseScrape(Buffer.concat([scrapePacket(ID, 1, [HASH]), Buffer.alloc(3)])), UdpPacketError);
});

test('answers: connect, announce, scrape and error layouts', () => {
  assert.equal(encodeConnect(0xfffffffe, ID).toString('hex'), '00000000fffffffe0102030405060708');
  const peers = Buffer.from('7f0000011ae1', 'hex');
  assert.equal(encodeAnnounce(7, 1800, 3, 4, peers).toString('hex'), '00000001' + '00000007' + '00000708' + '00000003' + '00000004' + '7f0000011ae1');
  // Counts beyond int32 saturate instead of turning negative.
  assert.equal(encodeAnnounce(7, 1800, 2 ** 40, 0, Buffer.alloc(0)).readInt32BE(12), 0x7fffffff);
  const s = encodeScrape(8, [{ infoHash: HASH, complete: 1, downloaded: 2, incomplete: 3 }, { infoHash: HASH, complete: 4, downloaded: 5, incomplete: 6 }]);
  assert.equal(s.toString('hex'), '00000002' + '00000008' + '000000010000000200000003' + '000000040000000500000006');
  assert.equal(encodeError(9, 'nope', 100).toString('hex'), '00000003' + '00000009' + Buffer.from('nope').toString('hex'));
});

test('error packets are cut to the size allowed and to MAX_ERROR_MESSAGE', () => {
  assert.equal(encodeError(1, 'bad connection id', 16).length, 16);
  assert.equal(encodeError(1, 'bad connection id', 16).subarray(8).toString(), 'bad conn');
  assert.equal(encodeError(1, 'x'.repeat(5000), Infinity).length, 8 + MAX_ERROR_MESSAGE);
  assert.equal(encodeError(1, 'x', 3).length, 8);
});
