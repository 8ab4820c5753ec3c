/**
 * announceUdp against a fake UDP tracker on loopback: connect then announce, connection ids
 * reused for a minute, the BEP 15 retry schedule (base shortened to 250 ms), stray and hostile
 * answers, error packets, expired ids, dead trackers, deadlines, IPv6 and host names.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { getEventListeners, once } from 'node:events';
import { lookup } from 'node:dns/promises';
import { announceUdp } from '../../src/tracker-client/udp-announce.ts';
import { MAX_UDP_TRACKER_LINKS, closeUdpTrackerLinks, udpTrackerLink } from '../../src/tracker-client/udp-tracker-link.ts';
import { TrackerFailure } from '../../src/tracker-client/reply.ts';
import type { AnnounceParams } from '../../src/tracker-client/announce-url.ts';
import { timerLateness } from '../support/timing.ts';
import { FakeUdpTracker, announceAnswer, connectAnswer, errorAnswer, type Seen } from './fake-udp-tracker.ts';

const params: AnnounceParams = {
  infoHash: Buffer.alloc(20, 0x5a),
  peerId: Buffer.from('-NB0001-udpclienttst'),
  port: 6881,
  uploaded: 10,
  downloaded: 20,
  left: 30,
  event: 'started',
  numwant: 25,
};
/** The retry base of the timing tests (the BEP's 15 s, shortened). */
const BASE = 250;
/** The other tests: no retransmission unless a packet is really lost, even on a loaded machine. */
const fast = { retryBaseMs: 3_000, deadlineMs: 10_000 };

const trackers: FakeUdpTracker[] = [];
async function fake(host?: string): Promise<FakeUdpTracker> {
  const t = await FakeUdpTracker.start(host);
  trackers.push(t);
  return t;
}
afterEach(async () => {
  closeUdpTrackerLinks();
  await Promise.all(trackers.splice(0).map((t) => t.close()));
});
after(() => closeUdpTrackerLinks());

test('connect, then announce with that id: every field sent, the answer parsed; BEP 41 URL data sent', async () => {
  const t = await fake();
  const reply = await announceUdp(t.url('/announce?passkey=abc'), params, fast);
  assert.deepEqual(reply, {
    interval: 900,
    incomplete: 2,
    complete: 3,
    peers: [
      { ip: '10.1.2.3', port: 6881 },
      { ip: '10.4.5.6', port: 51413 },
    ],
  });
  assert.equal(t.seen.length, 2);
  const [connect, ann] = t.seen as [Seen, Seen];
  assert.equal(connect.packet.length, 16);
  assert.equal(connect.action, 0);
  const a = ann.packet;
  assert.deepEqual(a.subarray(0, 8), t.minted[0], 'the id the tracker gave');
  assert.equal(ann.action, 1);
  assert.notEqual(ann.transactionId, connect.transactionId);
  assert.deepEqual(a.subarray(16, 36), params.infoHash);
  assert.deepEqual(a.subarray(36, 56), params.peerId);
  assert.deepEqual([a.readBigUInt64BE(56), a.readBigUInt64BE(64), a.readBigUInt64BE(72)], [20n, 30n, 10n]);
  assert.equal(a.readUInt32BE(80), 2, 'started');
  assert.equal(a.readInt32BE(92), 25);
  assert.equal(a.readUInt16BE(96), 6881);
  assert.deepEqual(a.subarray(98), Buffer.concat([Buffer.from([2, 21]), Buffer.from('/announce?passkey=abc')]));
});

test('the connection id is reused for a minute, from the same socket; after that, connect again', async () => {
  const t = await fake();
  await announceUdp(t.url(), params, fast);
  await announceUdp(t.url(), { ...params, event: 'none' }, fast);
  assert.deepEqual(
    t.seen.map((s) => s.action),
    [0, 1, 1],
    'one connect for two announces',
  );
  assert.equal(new Set(t.seen.map((s) => s.from.port)).size, 1, 'one source port');
  // A minute later the id is stale: the client connects again before announcing.
  const link = udpTrackerLink('127.0.0.1', t.port, 4);
  link.rememberConnectionId(link.connectionId()!, Date.now() - 60_001);
  await announceUdp(t.url(), params, fast);
  assert.deepEqual(
    t.seen.map((s) => s.action),
    [0, 1, 1, 0, 1],
  );
  assert.deepEqual(t.announces()[2]!.packet.subarray(0, 8), t.minted[1]);
});

test('lost packets: resent after 250, 500 ms (15 * 2^n s shortened), n back to 0 after an answer', async () => {
  const t = await fake();
  let connects = 0;
  let announces = 0;
  t.respond = (s, tr) => {
    if (s.action === 0 && ++connects <= 2) return []; // two connects lost
    if (s.action === 1 && ++announces <= 1) return []; // one announce lost
    return tr.behaveWell(s);
  };
  const reply = await announceUdp(t.url(), params, { retryBaseMs: BASE });
  assert.equal(reply.peers.length, 2);
  assert.deepEqual(
    t.seen.map((s) => s.action),
    [0, 0, 0, 1, 1],
  );
  const gaps = t.seen.slice(1).map((s, i) => s.at - t.seen[i]!.at);
  const expect = [BASE, 2 * BASE, 0, BASE];
  // Loose bounds (a loaded machine delays a receive): what counts is that each wait doubles.
  gaps.forEach((g, i) => assert.ok(g >= expect[i]! * 0.8 && g < expect[i]! + 200, `gap ${i}: ${g.toFixed(0)} ms, expected ~${expect[i]}`));
});

test('an answer with another transaction id is ignored; so are runts; the right one is taken', async () => {
  const t = await fake();
  t.respond = (s, tr) => {
    const good = tr.behaveWell(s);
    if (s.action !== 1) return good;
    const stray = announceAnswer((s.transactionId ^ 1) >>> 0, { interval: 5, leechers: 0, seeders: 0, peers: Buffer.from([6, 6, 6, 6, 0, 6]) });
    const strayError = errorAnswer((s.transactionId + 1) >>> 0, 'not you');
    return [stray, strayError, Buffer.alloc(3), ...good];
  };
  const reply = await announceUdp(t.url(), params, fast);
  assert.equal(reply.interval, 900);
  assert.deepEqual(reply.peers.map((p) => p.ip), ['10.1.2.3', '10.4.5.6']);
});

test('error packets: to connect, or to an announce with a fresh id, are a TrackerFailure with the message', async () => {
  const t = await fake();
  t.respond = (s) => [errorAnswer(s.transactionId, 'tracker is closed')];
  await assert.rejects(announceUdp(t.url(), params, fast), (e: Error) => e instanceof TrackerFailure && e.message === 'tracker refused: tracker is closed');
  assert.equal(t.seen.length, 1);

  const t2 = await fake();
  t2.respond = (s, tr) => (s.action === 0 ? tr.behaveWell(s) : [errorAnswer(s.transactionId, 'torrent not registered')]);
  await assert.rejects(announceUdp(t2.url(), params, fast), /tracker refused: torrent not registered/);
  assert.deepEqual(
    t2.seen.map((s) => s.action),
    [0, 1],
    'no retry after a refusal with a fresh id',
  );
});

test('a reused id the tracker no longer accepts (it restarted): connect again once, then announce', async () => {
  const t = await fake();
  await announceUdp(t.url(), params, fast);
  t.valid = (id) => t.minted.length > 1 && id.equals(t.minted.at(-1)!); // only ids minted from now on
  const reply = await announceUdp(t.url(), params, fast);
  assert.equal(reply.complete, 3);
  assert.deepEqual(
    t.seen.map((s) => s.action),
    [0, 1, 1, 0, 1],
  );
  // If even the fresh id is refused, that refusal is the answer (no loop).
  t.valid = () => false;
  await assert.rejects(announceUdp(t.url(), params, fast), /bad connection id/);
  assert.deepEqual(
    t.seen.slice(5).map((s) => s.action),
    [1, 0, 1],
  );
});

test('truncated answers and wrong actions with our transaction id: TrackerFailure at once', async () => {
  const t = await fake();
  t.respond = (s) => [connectAnswer(s.transactionId, Buffer.alloc(8)).subarray(0, 12)];
  await assert.rejects(announceUdp(t.url(), params, fast), (e: Error) => e instanceof TrackerFailure && /truncated connect answer \(12 bytes\)/.test(e.message));
  t.respond = (s, tr) => (s.action === 0 ? tr.behaveWell(s) : [announceAnswer(s.transactionId, { interval: 1, leechers: 0, seeders: 0, peers: Buffer.alloc(0) }).subarray(0, 16)]);
  await assert.rejects(announceUdp(t.url(), params, fast), /truncated announce answer \(16 bytes\)/);
  t.respond = (s) => [connectAnswer(s.transactionId, Buffer.alloc(8))];
  await assert.rejects(announceUdp(t.url(), params, fast), /action 0 in answer to announce/);
});

test('a dead tracker (port unreachable) fails at once; a silent one at the deadline; an abort at once', async () => {
  const dead = dgram.createSocket('udp4').bind(0, '127.0.0.1');
  await once(dead, 'listening');
  const port = dead.address().port;
  dead.close();
  let t0 = performance.now();
  await assert.rejects(announceUdp(`udp://127.0.0.1:${port}/announce`, params, fast), /unreachable \(ECONNREFUSED\)/);
  assert.ok(performance.now() - t0 < 1000, 'no waiting for timeouts');

  const silent = await fake();
  silent.respond = () => [];
  t0 = performance.now();
  const lateness = timerLateness(2_000);
  await assert.rejects(announceUdp(silent.url(), params, { retryBaseMs: BASE, deadlineMs: 2_000 }), /did not answer within 2 s/);
  const took = performance.now() - t0;
  const late = await lateness;
  assert.ok(took >= 1990 && took < 2500 + late, `deadline kept: ${took.toFixed(0)} ms (timers ${late.toFixed(0)} ms late)`);
  assert.equal(silent.seen.length, 4, 'connect sent at 0, 250, 750, 1750 ms');

  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('shutting down')), 150);
  t0 = performance.now();
  await assert.rejects(announceUdp(silent.url(), params, { ...fast, signal: ac.signal }), /shutting down/);
  assert.ok(performance.now() - t0 < 400, `the abort ended the announce within 400 ms: ${(performance.now() - t0).toFixed(0)} ms`);
});

test('IPv6 tracker: a udp6 socket, and 18-byte peers in its answer', async () => {
  const t = await fake('::1');
  t.answer = { interval: 60, leechers: 1, seeders: 0, peers: Buffer.concat([Buffer.from('20010db8000000000000000000000007', 'hex'), Buffer.from([0x1a, 0xe2])]) };
  const reply = await announceUdp(t.url(), params, fast);
  assert.deepEqual(reply.peers, [{ ip: '2001:db8::7', port: 6882 }]);
  assert.equal(t.seen[0]!.from.family, 'IPv6');
});

test('a host name is resolved (dns.lookup)', async () => {
  const { address } = await lookup('localhost');
  const t = await fake(address);
  const reply = await announceUdp(`udp://localhost:${t.port}/announce`, params, fast);
  assert.equal(reply.interval, 900);
});

test('several announces at once to one tracker share its socket and are told apart by transaction id', async () => {
  const t = await fake();
  const hashes = [1, 2, 3, 4].map((n) => Buffer.alloc(20, n));
  // Each answer tells its request apart by the seeders count = the hash's first byte.
  t.respond = (s, tr) => {
    if (s.action !== 1) return tr.behaveWell(s);
    return [announceAnswer(s.transactionId, { interval: 60, leechers: 0, seeders: s.packet[16]!, peers: Buffer.alloc(0) })];
  };
  const replies = await Promise.all(hashes.map((infoHash) => announceUdp(t.url(), { ...params, infoHash }, fast)));
  assert.deepEqual(
    replies.map((r) => r.complete),
    [1, 2, 3, 4],
  );
  assert.equal(new Set(t.seen.map((s) => s.from.port)).size, 1);
});

test(`at most ${MAX_UDP_TRACKER_LINKS} sockets are kept: the oldest idle ones close first`, async () => {
  const t = await fake();
  const first = udpTrackerLink('127.0.0.1', t.port, 4);
  await announceUdp(t.url(), params, fast);
  // Links to other ports (nothing needs to answer: they are only made).
  const others = Array.from({ length: MAX_UDP_TRACKER_LINKS }, (_, i) => udpTrackerLink('127.0.0.1', 1 + i, 4));
  assert.equal(first.connectionId(), undefined, 'the oldest link was closed: its id is gone');
  assert.equal(udpTrackerLink('127.0.0.1', 2, 4), others[1], 'the newer ones are kept');
  assert.equal(udpTrackerLink('127.0.0.1', MAX_UDP_TRACKER_LINKS, 4), others.at(-1));
  await announceUdp(t.url(), params, fast);
  assert.deepEqual(
    t.seen.map((s) => s.action),
    [0, 1, 0, 1],
    'a new link to the first tracker connects again',
  );
});

test("the caller's long-lived signal keeps no listener after announces, lost packets included", async () => {
  const t = await fake();
  let n = 0;
  t.respond = (s, tr) => (++n % 2 ? [] : tr.behaveWell(s)); // every other packet lost
  const loop = new AbortController();
  for (let i = 0; i < 3; i++) await announceUdp(t.url(), params, { retryBaseMs: BASE, signal: loop.signal });
  assert.ok(t.seen.length >= 6, 'packets were lost and sent again');
  assert.equal(getEventListeners(loop.signal, 'abort').length, 0);
});
