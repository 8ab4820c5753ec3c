/** Tracker limits and address trust: --trust-proxy, --trust-ip-param, --max-torrents, --max-peers-per-torrent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress, inCidr, parseCidr } from '../../src/tracker/client-address.ts';
import { parseAnnounce } from '../../src/tracker/protocol/announce.ts';

const proxies = ['10.0.0.0/8', '::1', '192.168.1.7'].map(parseCidr);

test('CIDR parsing and matching, IPv4 and IPv6, mapped addresses', () => {
  assert.ok(inCidr('10.2.3.4', parseCidr('10.0.0.0/8')), '10.2.3.4 is in 10.0.0.0/8');
  assert.ok(!inCidr('11.2.3.4', parseCidr('10.0.0.0/8')), '11.2.3.4 is not in 10.0.0.0/8');
  assert.ok(inCidr('::ffff:10.9.9.9', parseCidr('10.0.0.0/8')), '::ffff:10.9.9.9 (mapped) is in 10.0.0.0/8');
  assert.ok(inCidr('2001:db8::5', parseCidr('2001:db8::/32')), '2001:db8::5 is in 2001:db8::/32');
  assert.ok(!inCidr('2001:db9::5', parseCidr('2001:db8::/32')), '2001:db9::5 is not in 2001:db8::/32');
  assert.ok(inCidr('1.2.3.4', parseCidr('0.0.0.0/0')), '1.2.3.4 is in 0.0.0.0/0');
  assert.ok(!inCidr('1.2.3.4', parseCidr('::/0')), 'families never mix');
  for (const bad of ['10.0.0.0/33', 'nope', '10.0.0.0/x', '::1/129', '1.2.3/8']) assert.throws(() => parseCidr(bad), bad);
});

test('X-Forwarded-For is ignored unless the connection comes from a trusted proxy', () => {
  assert.equal(clientAddress('1.2.3.4', '5.6.7.8', proxies), '1.2.3.4');
  assert.equal(clientAddress('1.2.3.4', '5.6.7.8', []), '1.2.3.4');
  assert.equal(clientAddress('10.0.0.1', undefined, proxies), '10.0.0.1');
});

test('behind trusted proxies: the right-most hop that is not a trusted proxy', () => {
  // The client wrote "6.6.6.6" itself; 5.6.7.8 reached our first proxy, which reached the second.
  assert.equal(clientAddress('10.0.0.1', '6.6.6.6, 5.6.7.8, 192.168.1.7', proxies), '5.6.7.8');
  assert.equal(clientAddress('::1', '5.6.7.8', proxies), '5.6.7.8');
  assert.equal(clientAddress('10.0.0.1', ['6.6.6.6', '5.6.7.8'], proxies), '5.6.7.8');
  // Every hop trusted: the left-most.
  assert.equal(clientAddress('10.0.0.1', '10.1.1.1, 10.2.2.2', proxies), '10.1.1.1');
  // Garbage stops the walk at the last hop we could vouch for.
  assert.equal(clientAddress('10.0.0.1', '5.6.7.8, not-an-ip', proxies), '10.0.0.1');
});

test('the ip parameter is used only with trustIpParam', () => {
  const q =
    'info_hash=' + '%01'.repeat(20) + '&peer_id=' + '%02'.repeat(20) + '&port=6881&uploaded=0&downloaded=0&left=0&ip=9.9.9.9';
  assert.equal(parseAnnounce(q, '127.0.0.1').ip, '127.0.0.1');
  assert.equal(parseAnnounce(q, '127.0.0.1', undefined, { trustIpParam: true }).ip, '9.9.9.9');
  const bogus = q.replace('ip=9.9.9.9', 'ip=evil');
  assert.equal(parseAnnounce(bogus, '127.0.0.1', undefined, { trustIpParam: true }).ip, '127.0.0.1');
});

test('store limits: a full tracker or torrent refuses new entries, keeps old ones', async () => {
  const { MemorySwarmStore } = await import('../../src/tracker/store/memory-store.ts');
  const { TrackerService, trackerConfig } = await import('../../src/tracker/service.ts');
  const { HttpTrackerHandler } = await import('../../src/tracker/http/handler.ts');
  const { decode } = await import('../../src/metainfo/bencode.ts');
  const store = new MemorySwarmStore(60_000, { maxTorrents: 1, maxPeersPerTorrent: 2 });
  const handler = new HttpTrackerHandler(new TrackerService(store, trackerConfig(30)));
  const q = (hash: string, port: number) =>
    `info_hash=${hash.repeat(20)}&peer_id=${'%02'.repeat(20)}&port=${port}&uploaded=0&downloaded=0&left=0&compact=1`;
  const reason = async (hash: string, port: number) => {
    const d = decode(await handler.announce(q(hash, port), '127.0.0.1', undefined)) as Record<string, Buffer | undefined>;
    return d['failure reason']?.toString();
  };
  assert.equal(await reason('%01', 1), undefined);
  assert.equal(await reason('%01', 2), undefined);
  assert.match((await reason('%01', 3)) ?? '', /too many peers/);
  assert.equal(await reason('%01', 1), undefined, 'a known peer still re-announces');
  assert.match((await reason('%03', 1)) ?? '', /too many torrents/);
  assert.deepEqual(await store.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 1, peers: 2 });
});

// ---- per-address and global limits of the store (issue #13 item 9) ----

import { MemorySwarmStore } from '../../src/tracker/store/memory-store.ts';
import type { AnnounceRequest } from '../../src/tracker/protocol/announce.ts';
import { encodeAnnounceResponse } from '../../src/tracker/protocol/answer.ts';
import { decode, isDict } from '../../src/metainfo/bencode.ts';

function req(ip: string, port: number, infoHash = Buffer.alloc(20, 1), event: AnnounceRequest['event'] = 'none'): AnnounceRequest {
  return { infoHash, peerId: Buffer.alloc(20, 2), ip, family: ip.includes(':') ? 6 : 4, port, uploaded: 0, downloaded: 0, left: 1, event, numwant: 200, compact: true, noPeerId: true };
}
const hash = (i: number) => {
  const b = Buffer.alloc(20);
  b.writeUInt32BE(i);
  return b;
};

test('peers per address per torrent: the 9th port of one address is answered with a warning and not listed; other addresses and other torrents unaffected', async () => {
  const store = new MemorySwarmStore(60_000);
  for (let p = 1; p <= 8; p++) assert.equal(store.announce(req('10.0.0.1', p), 1).warning, undefined);
  const ninth = store.announce(req('10.0.0.1', 9), 1);
  assert.match(ninth.warning ?? '', /not listed/);
  assert.equal(ninth.peers.v4.length, 8 * 6, 'still gets the peers');
  assert.equal(ninth.incomplete, 8);
  assert.equal(store.announce(req('10.0.0.1', 3), 2).warning, undefined, 'a listed port still re-announces');
  assert.equal(store.announce(req('10.0.0.2', 9), 2).warning, undefined, 'another address is listed');
  assert.equal(store.announce(req('10.0.0.1', 9, hash(7)), 2).warning, undefined, 'the same address in another torrent is listed');
  // A port that left makes room.
  store.announce(req('10.0.0.1', 1, undefined, 'stopped'), 3);
  assert.equal(store.announce(req('10.0.0.1', 9), 3).warning, undefined);
  assert.deepEqual(await store.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 2, peers: 10 });
  // The warning reaches the client, compact or not (BEP 3 `warning message`).
  for (const compact of [true, false]) {
    const d = decode(encodeAnnounceResponse({ interval: 1, minInterval: 1, complete: 0, incomplete: 8, peers: ninth.peers, warning: ninth.warning }, { compact, noPeerId: true }));
    assert.ok(isDict(d), `compact ${compact}: the answer decodes to a dict`);
    assert.match(String(d['warning message']), /not listed/);
  }
});

test('peers per address per torrent: an IPv6 /64 is one address, another /64 is not', () => {
  const store = new MemorySwarmStore(60_000, { maxPeersPerAddress: 2 });
  assert.equal(store.announce(req('2001:db8:1:1::1', 1), 1).warning, undefined);
  assert.equal(store.announce(req('2001:db8:1:1::2', 1), 1).warning, undefined);
  assert.match(store.announce(req('2001:db8:1:1:ffff::3', 1), 1).warning ?? '', /not listed/);
  assert.equal(store.announce(req('2001:db8:1:2::1', 1), 1).warning, undefined);
});

test('new torrents per address: a burst, then the sustained rate; other addresses and exempt ones unaffected', () => {
  const store = new MemorySwarmStore(3_600_000, { newTorrentsPerMinute: 60, newTorrentsBurst: 3 });
  const t0 = 1_000_000;
  let n = 0;
  const create = (ip: string, now: number) => {
    try {
      store.announce(req(ip, 1, hash(n++)), now);
      return true;
    } catch (e) {
      assert.match((e as Error).message, /too many new torrents from your address/);
      return false;
    }
  };
  assert.deepEqual([1, 2, 3, 4].map(() => create('10.0.0.1', t0)), [true, true, true, false]);
  assert.equal(create('10.0.0.1', t0 + 500), false, 'one a second: not yet');
  assert.equal(create('10.0.0.1', t0 + 1000), true);
  assert.equal(create('10.0.0.1', t0 + 1000), false);
  assert.equal(create('10.0.0.2', t0), true, 'another address has its own budget');
  // An existing torrent is joined whatever the budget.
  assert.doesNotThrow(() => store.announce(req('10.0.0.1', 2, hash(0)), t0 + 1000));
  // Loopback is exempt by default.
  for (let i = 0; i < 50; i++) assert.equal(create('127.0.0.1', t0), true);
  const strict = new MemorySwarmStore(3_600_000, { newTorrentsPerMinute: 60, newTorrentsBurst: 1, exempt: [] });
  strict.announce(req('127.0.0.1', 1, hash(900)), t0);
  assert.throws(() => strict.announce(req('127.0.0.1', 1, hash(901)), t0), /too many new torrents/);
});

test('the global peer cap: new peers and torrents refused when full, known peers still served, room again when peers leave', async () => {
  const store = new MemorySwarmStore(60_000, { maxPeers: 3 });
  store.announce(req('10.0.0.1', 1), 1);
  store.announce(req('10.0.0.2', 1), 1);
  store.announce(req('10.0.0.3', 1, hash(5)), 1);
  assert.throws(() => store.announce(req('10.0.0.4', 1), 1), /tracker is full \(too many peers\)/);
  assert.throws(() => store.announce(req('10.0.0.4', 1, hash(6)), 1), /tracker is full \(too many peers\)/);
  assert.doesNotThrow(() => store.announce(req('10.0.0.1', 1), 2), 'a known peer re-announces');
  store.announce(req('10.0.0.2', 1, undefined, 'stopped'), 2);
  assert.doesNotThrow(() => store.announce(req('10.0.0.4', 1), 2));
  assert.deepEqual(await store.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 2, peers: 3 });
  // Expiry gives the room back too.
  await store.expire(60_000 + 1.5);
  assert.deepEqual(await store.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 1, peers: 2 });
});

test('expiry in slices: a pass over 20,000 swarms in bounded slices drops exactly the silent ones', async () => {
  const store = new MemorySwarmStore(1000);
  // Odd torrents silent since 0, even ones heard at 5000; the pass runs at 5500 (cutoff 4500).
  for (let i = 0; i < 20_000; i++) store.announce(req('127.0.0.1', 1, hash(i)), i % 2 ? 0 : 5000);
  const stopped = new Set<number>();
  let added = 0;
  let slices = 0;
  while (!store.expireSome(5500, 0)) {
    slices++;
    // Announces between slices add and delete swarms (swap-removes under the walk): no effect on the outcome.
    if (slices % 7 === 0) store.announce(req('127.0.0.1', 1, hash(100_000 + added++)), 5500);
    if (slices % 11 === 0) {
      stopped.add(slices * 2);
      store.announce(req('127.0.0.1', 1, hash(slices * 2), 'stopped'), 5500);
    }
  }
  assert.ok(slices > 10, `${slices} slices`);
  assert.deepEqual(await store.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 10_000 - stopped.size + added, peers: 10_000 - stopped.size + added });
  for (let i = 0; i < 20_000; i++) assert.equal((await store.list(hash(i), 5500)).total, i % 2 || stopped.has(i) ? 0 : 1, `torrent ${i}`);
});

test('limits of 0 (library use) keep nothing: no empty swarm is left behind', async () => {
  const none = new MemorySwarmStore(60_000, { maxPeersPerTorrent: 0 });
  assert.throws(() => none.announce(req('10.0.0.1', 1), 1), /torrent is full/);
  const unlisted = new MemorySwarmStore(60_000, { maxPeersPerAddress: 0 });
  assert.match(unlisted.announce(req('10.0.0.1', 1), 1).warning ?? '', /not listed/);
  assert.deepEqual(await none.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 0, peers: 0 });
  assert.deepEqual(await unlisted.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 0, peers: 0 });
});
