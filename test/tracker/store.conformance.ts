/**
 * The SwarmStore conformance suite: the same cases for every store implementation, through the
 * interface only (chihaya's storage tests are the model). A store passes when
 * `storeConformance(name, factory)` passes; test/tracker/memory-store.test.ts runs it on the memory store.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnnounceRequest } from '../../src/tracker/protocol/announce.ts';
import type { PeerSample } from '../../src/tracker/protocol/answer.ts';
import { StoreFullError, type StoreLimits, type SwarmStore } from '../../src/tracker/store/swarm-store.ts';
import { parseCidr } from '../../src/tracker/client-address.ts';

/** A fresh, empty store whose peers live `ttlMs`, with these limits over the defaults. */
export type StoreFactory = (ttlMs: number, limits?: Partial<StoreLimits>) => SwarmStore | Promise<SwarmStore>;

const TTL = 60_000;
const hash = (n: number) => Buffer.alloc(20, n);

function req(ip: string, port: number, over: Partial<AnnounceRequest> = {}): AnnounceRequest {
  return { infoHash: hash(1), peerId: Buffer.alloc(20, port & 0xff), ip, family: ip.includes(':') ? 6 : 4, port, uploaded: 0, downloaded: 0, left: 1, event: 'none', numwant: 50, compact: true, noPeerId: true, ...over };
}

/** The (address, port) pairs of a sample, as `ip:port` (IPv6 as hex bytes). */
function listed(p: PeerSample): string[] {
  const out: string[] = [];
  for (let at = 0; at + 6 <= p.v4.length; at += 6) out.push(`${p.v4[at]}.${p.v4[at + 1]}.${p.v4[at + 2]}.${p.v4[at + 3]}:${p.v4.readUInt16BE(at + 4)}`);
  for (let at = 0; at + 18 <= p.v6.length; at += 18) out.push(`${p.v6.toString('hex', at, at + 16)}:${p.v6.readUInt16BE(at + 16)}`);
  return out.sort();
}

export function storeConformance(name: string, make: StoreFactory): void {
  const fresh = async (limits: Partial<StoreLimits> = {}) => make(TTL, { exempt: [], ...limits });
  const announce = async (s: SwarmStore, r: AnnounceRequest, now = 1000) => s.announce(r, now);

  describe(`SwarmStore conformance: ${name}`, () => {
    test('announce lists the others, never the announcer; counts seeders and leechers', async () => {
      const s = await fresh();
      assert.deepEqual(listed((await announce(s, req('10.0.0.1', 1))).peers), []);
      await announce(s, req('10.0.0.2', 2, { left: 0 }));
      const third = await announce(s, req('10.0.0.3', 3));
      assert.deepEqual(listed(third.peers), ['10.0.0.1:1', '10.0.0.2:2']);
      assert.equal(third.complete, 1);
      assert.equal(third.incomplete, 2);
      assert.deepEqual(await s.counts(), { swarms: 1, peers: 3, seeders: 1 });
    });

    test('numwant bounds the peers given; a re-announce updates in place', async () => {
      const s = await fresh();
      for (let i = 1; i <= 10; i++) await announce(s, req(`10.0.1.${i}`, 6881));
      assert.equal(listed((await announce(s, req('10.0.1.1', 6881, { numwant: 3 }))).peers).length, 3);
      assert.equal(listed((await announce(s, req('10.0.1.1', 6881, { numwant: 0 }))).peers).length, 0);
      assert.deepEqual(await s.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 1, peers: 10 });
    });

    test('completed counts finished downloads once; stopped removes the peer; scrape reports them', async () => {
      const s = await fresh();
      await announce(s, req('10.0.0.1', 1));
      await announce(s, req('10.0.0.1', 1, { event: 'completed', left: 0 }));
      await announce(s, req('10.0.0.1', 1, { event: 'completed', left: 0 }));
      await announce(s, req('10.0.0.2', 2));
      let [e] = await s.scrape([hash(1)], 1000);
      assert.deepEqual({ complete: e!.complete, incomplete: e!.incomplete, downloaded: e!.downloaded }, { complete: 1, incomplete: 1, downloaded: 1 });
      await announce(s, req('10.0.0.2', 2, { event: 'stopped' }));
      [e] = await s.scrape([hash(1), hash(1)], 1000);
      assert.equal(e!.incomplete, 0);
      const unknown = await s.scrape([hash(9)], 1000);
      assert.deepEqual(unknown.map((x) => [x.complete, x.incomplete, x.downloaded]), [[0, 0, 0]]);
    });

    test('expiry drops silent peers and frees empty swarms; the last stopped peer frees its swarm', async () => {
      const s = await fresh();
      await announce(s, req('10.0.0.1', 1), 1000);
      await announce(s, req('10.0.0.2', 2, { infoHash: hash(2) }), 1000 + TTL);
      assert.deepEqual(listed((await announce(s, req('10.0.0.3', 3), 2000 + TTL)).peers), [], 'a silent peer is not given');
      await s.expire(1500 + TTL);
      assert.deepEqual(await s.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 2, peers: 2 });
      await s.expire(1000 + 3 * TTL);
      assert.deepEqual(await s.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 0, peers: 0 });
      await announce(s, req('10.0.0.4', 4), 1000);
      await announce(s, req('10.0.0.4', 4, { event: 'stopped' }), 1000);
      assert.deepEqual(await s.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 0, peers: 0 });
    });

    test('IPv4 and IPv6 peers are kept apart and both listed', async () => {
      const s = await fresh();
      await announce(s, req('10.0.0.1', 6881));
      await announce(s, req('2001:db8::1', 6881));
      const r = await announce(s, req('10.0.0.9', 1));
      assert.equal(r.peers.v4.length, 6);
      assert.equal(r.peers.v6.length, 18);
      assert.deepEqual(listed(r.peers), ['10.0.0.1:6881', '20010db8000000000000000000000001:6881']);
    });

    test('limits: torrents, peers per torrent, peers in all', async () => {
      const s = await fresh({ maxTorrents: 1, maxPeersPerTorrent: 2, maxPeers: 2 });
      await announce(s, req('10.0.0.1', 1));
      await announce(s, req('10.0.0.2', 2));
      await assert.rejects(async () => announce(s, req('10.0.0.3', 3)), StoreFullError);
      await assert.rejects(async () => announce(s, req('10.0.0.3', 3, { infoHash: hash(2) })), /too many/);
      await announce(s, req('10.0.0.1', 1));
      assert.deepEqual(await s.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 1, peers: 2 });
    });

    test('per-address limits: peers of one /32 or /64 listed in a torrent, new torrents per address, exempt addresses', async () => {
      const s = await fresh({ maxPeersPerAddress: 2, newTorrentsBurst: 2, newTorrentsPerMinute: 1 });
      assert.equal((await announce(s, req('10.0.0.1', 1))).warning, undefined);
      assert.equal((await announce(s, req('10.0.0.1', 2))).warning, undefined);
      assert.match((await announce(s, req('10.0.0.1', 3))).warning ?? '', /not listed/);
      assert.equal((await announce(s, req('2001:db8:1:1::1', 1))).warning, undefined);
      assert.equal((await announce(s, req('2001:db8:1:1::2', 1))).warning, undefined);
      assert.match((await announce(s, req('2001:db8:1:1:ffff::3', 1))).warning ?? '', /not listed/);
      await announce(s, req('10.0.0.1', 1, { infoHash: hash(2) }));
      await assert.rejects(async () => announce(s, req('10.0.0.1', 1, { infoHash: hash(3) })), /too many new torrents/);
      const exempt = await fresh({ maxPeersPerAddress: 1, exempt: [parseCidr('10.0.0.0/8')] });
      await announce(exempt, req('10.0.0.1', 1));
      assert.equal((await announce(exempt, req('10.0.0.1', 2))).warning, undefined);
    });

    test('list pages the live peers of a swarm with a total', async () => {
      const s = await fresh();
      for (let i = 1; i <= 5; i++) await announce(s, req(`10.0.2.${i}`, 7000 + i, { left: i === 1 ? 0 : 1 }));
      const all = await s.list(hash(1), 1000);
      assert.equal(all.total, 5);
      assert.equal(all.peers.filter((p) => p.seeder).length, 1);
      const page = await s.list(hash(1), 1000, 2, 2);
      assert.equal(page.total, 5);
      assert.equal(page.peers.length, 2);
      assert.deepEqual((await s.list(hash(7), 1000)).peers, []);
    });
  });
}
