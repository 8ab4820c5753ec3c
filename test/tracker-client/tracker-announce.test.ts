/**
 * The dispatch by scheme and BEP 12 tiers mixing HTTP and UDP trackers, and the Announcer over a
 * torrent whose only tracker is udp://: `started`, `completed`, and `stopped` within the stop
 * budget (real loopback sockets, a fake UDP tracker and a tiny HTTP tracker).
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import dgram from 'node:dgram';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { announceToTiers, announceToTracker } from '../../src/tracker-client/tracker-announce.ts';
import { Announcer, STOP_DEADLINE_MS } from '../../src/tracker-client/announcer.ts';
import { closeUdpTrackerLinks } from '../../src/tracker-client/udp-tracker-link.ts';
import { encode } from '../../src/metainfo/bencode.ts';
import type { AnnounceParams } from '../../src/tracker-client/announce-url.ts';
import type { TrackerReply } from '../../src/tracker-client/reply.ts';
import { FakeUdpTracker } from './fake-udp-tracker.ts';

const params: AnnounceParams = {
  infoHash: Buffer.alloc(20, 0x33),
  peerId: Buffer.from('-NB0001-dispatchtest'),
  port: 7000,
  uploaded: 0,
  downloaded: 0,
  left: 100,
  event: 'started',
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  closeUdpTrackerLinks();
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
after(() => closeUdpTrackerLinks());

async function udpTracker(): Promise<FakeUdpTracker> {
  const t = await FakeUdpTracker.start();
  cleanups.push(() => t.close());
  return t;
}

/** An HTTP tracker that answers one peer, 9.9.9.9:99, and records the request URLs. */
async function httpTracker(): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    res.end(encode({ interval: 120, peers: Buffer.from([9, 9, 9, 9, 0, 99]) }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`, seen };
}

async function deadUdpUrl(): Promise<string> {
  const s = dgram.createSocket('udp4').bind(0, '127.0.0.1');
  await once(s, 'listening');
  const port = s.address().port;
  s.close();
  return `udp://127.0.0.1:${port}/announce`;
}

test('announceToTracker picks the transport by scheme', async () => {
  const udp = await udpTracker();
  const web = await httpTracker();
  assert.equal((await announceToTracker(udp.url(), params)).interval, 900);
  assert.equal(udp.announces().length, 1);
  assert.equal((await announceToTracker(web.url, params)).interval, 120);
  assert.equal(web.seen.length, 1);
  assert.equal((await announceToTracker(udp.url().replace('udp:', 'UDP:'), params)).interval, 900, 'scheme case-insensitive');
});

test('BEP 12 tiers across transports: a dead udp tracker, then http; a dead http tracker, then udp', async () => {
  const udp = await udpTracker();
  const web = await httpTracker();
  const deadUdp = await deadUdpUrl();
  const t0 = performance.now();
  const tiers = [[deadUdp], [web.url, udp.url()]];
  assert.deepEqual((await announceToTiers(tiers, params)).peers, [{ ip: '9.9.9.9', port: 99 }]);
  assert.ok(performance.now() - t0 < 2000, 'an unreachable udp tracker is given up at once');
  assert.equal(udp.seen.length, 0, 'the second tracker of the answering tier is not asked');

  const deadHttp = web.url.replace(/:\d+\//, `:${new URL(deadUdp.replace('udp:', 'http:')).port}/`);
  const reply = await announceToTiers([[deadHttp], [udp.url()]], params);
  assert.equal(reply.complete, 3);
});

test('Announcer with only a udp:// tracker: started, completed, and stopped at shutdown within the budget', async () => {
  const udp = await udpTracker();
  const replies: Array<[TrackerReply, string]> = [];
  const progress = { uploaded: 0, downloaded: 0, left: 100 };
  const announcer = new Announcer([[udp.url()]], { infoHash: params.infoHash, peerId: params.peerId, port: 7000, numwant: 50 }, () => progress, {
    onReply: (r, e) => replies.push([r, e]),
  });
  announcer.start();
  await waitFor(() => replies.length === 1);
  assert.equal(replies[0]![1], 'started');
  assert.equal(replies[0]![0].peers.length, 2);
  progress.left = 0;
  await announcer.completed();
  await waitFor(() => replies.length === 2);
  const t0 = performance.now();
  await announcer.stop();
  assert.ok(performance.now() - t0 < STOP_DEADLINE_MS, `stop() finished within ${STOP_DEADLINE_MS} ms: ${(performance.now() - t0).toFixed(0)} ms`);
  const events = udp.announces().map((s) => s.packet.readUInt32BE(80));
  assert.deepEqual(events, [2, 1, 3], 'started, completed, stopped (BEP 15 event numbers)');
  assert.equal(udp.connects().length, 1, 'one connection id for all three');
  assert.equal(udp.announces()[2]!.packet.readBigUInt64BE(64), 0n, 'stopped carries left = 0');
});

test('Announcer: stopped to a silent udp tracker gives up within the stop budget', async () => {
  const udp = await udpTracker();
  let started = false;
  const announcer = new Announcer([[udp.url()]], { infoHash: params.infoHash, peerId: params.peerId, port: 7000 }, () => ({ uploaded: 0, downloaded: 0, left: 1 }), {
    onReply: () => (started = true),
  });
  announcer.start();
  await waitFor(() => started);
  udp.respond = () => [];
  const t0 = performance.now();
  await announcer.stop();
  const took = performance.now() - t0;
  assert.ok(took >= STOP_DEADLINE_MS - 50 && took < STOP_DEADLINE_MS + 500, `stop took ${took.toFixed(0)} ms`);
  assert.equal(udp.announces().at(-1)!.packet.readUInt32BE(80), 3, 'stopped was sent');
});

async function waitFor(ok: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
