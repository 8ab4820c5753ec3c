/**
 * The UDP front end's socket side: IPv6 sockets answer with 18-byte peers, a v4-mapped client of
 * an IPv6 socket gets 6-byte ones; stores that answer later, fail, or throw; a taken port; stop.
 */
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { MemorySwarmStore } from '../../../src/tracker/store/memory-store.ts';
import { StoreUnavailableError, type SwarmStore } from '../../../src/tracker/store/swarm-store.ts';
import { TrackerService, trackerConfig } from '../../../src/tracker/service.ts';
import { createUdpFrontEnd } from '../../../src/tracker/udp/server.ts';
import { MAX_PEERS_V6 } from '../../../src/tracker/udp/handler.ts';
import { announcePacket, errorText, readAnnounceAnswer, scrapePacket } from './udp-probe.ts';
import { seedPeer, UdpScope, UDP_IOS, type UdpWorld } from './udp-world.ts';

const scope = new UdpScope();
after(() => scope.cleanup());
const probe = (w: UdpWorld, local?: string) => scope.probe(w, local);


async function hasIPv6Loopback(): Promise<boolean> {
  const s = dgram.createSocket('udp6');
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(0, '::1', () => s.close(() => resolve(true)));
  });
}

// Every test once per UDP I/O path: the native batch addon (when built) and node:dgram.
for (const io of UDP_IOS) {
  describe(`UDP I/O: ${io}`, () => {
    const world = (opts: Parameters<UdpScope['world']>[0] = {}) => scope.world({ io, ...opts });

    test('an IPv6 socket (::1) answers its IPv6 clients with 18-byte peers, at most MAX_PEERS_V6, IPv6 ones only', async (t) => {
      if (!(await hasIPv6Loopback())) return t.skip('no IPv6 loopback (::1) here');
      const w = await world({ host: '::1' });
      const hash = randomBytes(20);
      for (let port = 1; port <= 120; port++) seedPeer(w.service, hash, '::1', 30000 + port);
      const p = await probe(w);
      const id = await p.connect();
      const a = (await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, numwant: 1000, port: 7000 })))!;
      const answer = readAnnounceAnswer(a, 18);
      assert.equal(answer.peers.length, MAX_PEERS_V6);
      assert.equal(a.length, 20 + 18 * MAX_PEERS_V6);
      for (const peer of answer.peers) assert.match(peer, /^\[0:0:0:0:0:0:0:1\]:3\d{4}$/);
      const few = readAnnounceAnswer((await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, numwant: 2, port: 7000 })))!, 18);
      assert.equal(few.peers.length, 2);
      // A swarm's IPv4 peers cannot be written as 18-byte peers: an IPv6 client is not sent them.
      for (let port = 1; port <= 50; port++) seedPeer(w.service, hash, '127.0.0.1', 4000 + port);
      for (let i = 0; i < 5; i++) {
        const mixed = readAnnounceAnswer((await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, numwant: 1000, port: 7000 })))!, 18);
        assert.ok(mixed.peers.length > 0 && mixed.peers.length <= MAX_PEERS_V6, `1..${MAX_PEERS_V6} peers in a mixed answer: ${mixed.peers.length}`);
        for (const peer of mixed.peers) assert.match(peer, /^\[0:0:0:0:0:0:0:1\]:3\d{4}$/);
      }
    });

    test('a v4-mapped client of an IPv6 socket gets 6-byte peers and is stored as IPv4', async () => {
      const w = await world({ host: '::ffff:127.0.0.1' });
      const hash = randomBytes(20);
      seedPeer(w.service, hash, '127.0.0.8', 4000);
      // A plain IPv4 client: the socket sees it as ::ffff:127.0.0.1.
      const p = await scope.probe(w, '127.0.0.1', '127.0.0.1');
      const id = await p.connect();
      const answer = readAnnounceAnswer((await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, port: 7000 })))!, 6);
      assert.deepEqual(answer.peers, ['127.0.0.8:4000']);
      const page = await w.service.peers(hash, 0, 10);
      assert.ok(page.peers.some((x) => x.ip === '127.0.0.1' && x.family === 4 && x.port === 7000), 'the announcing peer 127.0.0.1:7000 (IPv4) is stored');
    });

    /** A store whose announces and scrapes answer later (a promise), as a shared store's do. */
    function laterStore(inner: SwarmStore, fail?: () => Error): SwarmStore {
      const later = <T>(f: () => T) => new Promise<T>((resolve, reject) => setTimeout(() => (fail ? reject(fail()) : resolve(f())), 5));
      return {
        announce: (req, now) => later(() => inner.announce(req, now) as ReturnType<MemorySwarmStore['announce']>),
        scrape: (h, now) => later(() => inner.scrape(h, now)).then((x) => x),
        list: (h, now, from, max) => inner.list(h, now, from, max),
        expireSome: (now, ms) => inner.expireSome(now, ms),
        expire: (now) => inner.expire(now),
        counts: () => inner.counts(),
      };
    }

    test('a store that answers later (a promise) is waited for; one that fails gets an error packet', async () => {
      const ok = await world({ store: laterStore(new MemorySwarmStore(60_000)) });
      const hash = randomBytes(20);
      const p = await probe(ok);
      const id = await p.connect();
      await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, left: 0n, port: 7001 }));
      const q = await probe(ok, '127.0.0.2');
      const second = readAnnounceAnswer((await q.ask(announcePacket({ connectionId: await q.connect(), transactionId: q.tid(), infoHash: hash, port: 7002 })))!, 6);
      assert.deepEqual(second.peers, ['127.0.0.1:7001']);
      const scrape = (await p.ask(scrapePacket(id, p.tid(), [hash])))!;
      assert.deepEqual([scrape.readInt32BE(8), scrape.readInt32BE(16)], [1, 1]);

      const down = await world({ store: laterStore(new MemorySwarmStore(60_000), () => new StoreUnavailableError('store unavailable')) });
      const r = await probe(down);
      const rid = await r.connect();
      for (const packet of [announcePacket({ connectionId: rid, transactionId: r.tid(), infoHash: hash, port: 7003 }), scrapePacket(rid, r.tid(), [hash])]) {
        const a = await r.ask(packet);
        assert.equal(errorText(a!), 'store unavailable');
      }
      const s = down.service.stats.snapshot();
      assert.equal(s.failures.store_unavailable, 2);
      assert.deepEqual([s.requests.udp.announce.failed, s.requests.udp.scrape.failed], [1, 1]);
    });

    test('a store that throws a bug gets a generic error packet, logged once, and the tracker serves on', async (t) => {
      const logged: unknown[][] = [];
      t.mock.method(console, 'error', (...args: unknown[]) => void logged.push(args));
      const store = new MemorySwarmStore(60_000);
      let broken = true;
      const real = store.announce.bind(store);
      store.announce = (req, now) => {
        if (broken) throw new TypeError('a bug in the store');
        return real(req, now);
      };
      const w = await world({ store });
      const p = await probe(w);
      const id = await p.connect();
      for (let i = 0; i < 5; i++) {
        const a = await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: randomBytes(20), port: 7000 }));
        assert.equal(errorText(a!), 'internal error');
      }
      assert.equal(logged.length, 1, 'one log line for five identical failures');
      assert.equal(w.service.stats.snapshot().failures.internal, 5);
      broken = false;
      const a = await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: randomBytes(20), port: 7000 }));
      assert.equal(a?.readUInt32BE(0), 1);
    });

    test('a taken port rejects bind; stop closes the socket; stop twice and sends after stop are harmless', async () => {
      const w = await world({});
      const service = new TrackerService(new MemorySwarmStore(60_000), trackerConfig(1800));
      const second = createUdpFrontEnd(service, { secret: null, io });
      await assert.rejects(second.bind(w.port, '127.0.0.1'), /EADDRINUSE/);
      assert.equal(second.address(), null);
      const p = await probe(w);
      await p.connect();
      await w.stop();
      await w.stop();
      assert.equal(await p.ask(scrapePacket(Buffer.alloc(8), 1, [])), null);
      // The port is free again.
      const third = createUdpFrontEnd(service, { secret: null, io });
      await third.bind(w.port, '127.0.0.1');
      await third.stop();
    });
  });
}
