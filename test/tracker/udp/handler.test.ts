/**
 * The UDP tracker's requests over real loopback sockets, byte by byte (BEP 15): connect, announce,
 * scrape and every error; bad ids (another window, address, port, a forged MAC) get a short error
 * packet and never peers; no unauthenticated datagram gets more bytes back than it sent.
 */
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConnectionIds, WINDOW_MS } from '../../../src/tracker/udp/connection-id.ts';
import { MAX_PEERS_V4 } from '../../../src/tracker/udp/handler.ts';
import { UdpProbe, announcePacket, connectPacket, errorText, readAnnounceAnswer, scrapePacket, urlDataOptions } from './udp-probe.ts';
import { seedPeer, UdpScope, UDP_IOS, type UdpWorld } from './udp-world.ts';

const SECRET = 'udp-handler-test-secret';
const scope = new UdpScope({ secret: SECRET });
after(() => scope.cleanup());
const probe = (w: UdpWorld, local?: string) => scope.probe(w, local);


/** Every unauthenticated datagram's answer, checked against the amplification bound. */
async function askUnauthenticated(p: UdpProbe, b: Buffer, ms = 2000): Promise<Buffer | null> {
  const a = await p.ask(b, ms);
  if (a) assert.ok(a.length <= b.length, `answer of ${a.length} bytes to an unauthenticated ${b.length}-byte datagram`);
  return a;
}

// Every test once per UDP I/O path: the native batch addon (when built) and node:dgram.
for (const io of UDP_IOS) {
  describe(`UDP I/O: ${io}`, () => {
    const world = (opts: Parameters<UdpScope['world']>[0] = {}) => scope.world({ io, ...opts });

    test('connect, then announce: two clients on two addresses get each other; counts and interval right', async () => {
      const w = await world();
      const hash = randomBytes(20);
      const a = await probe(w, '127.0.0.1');
      const b = await probe(w, '127.0.0.2');
      const idA = await a.connect();
      const first = readAnnounceAnswer((await a.ask(announcePacket({ connectionId: idA, transactionId: a.tid(), infoHash: hash, left: 0n, event: 2, port: 7001 })))!, 6);
      assert.deepEqual(first, { interval: 1800, leechers: 0, seeders: 1, peers: [] });
      const idB = await b.connect();
      const second = readAnnounceAnswer((await b.ask(announcePacket({ connectionId: idB, transactionId: b.tid(), infoHash: hash, left: 5n, event: 2, port: 7002 })))!, 6);
      assert.deepEqual(second, { interval: 1800, leechers: 1, seeders: 1, peers: ['127.0.0.1:7001'] });
      const again = readAnnounceAnswer((await a.ask(announcePacket({ connectionId: idA, transactionId: a.tid(), infoHash: hash, left: 0n, port: 7001 })))!, 6);
      assert.deepEqual(again.peers, ['127.0.0.2:7002']);
      const s = w.service.stats.snapshot();
      assert.deepEqual(s.requests.udp.connect, { ok: 2, failed: 0 });
      assert.deepEqual(s.requests.udp.announce, { ok: 3, failed: 0 });
      assert.equal(s.latency.udp.count, 3);
    });

    test('bad ids get a short error, never peers: zero, another port, another address, forged, expired, another secret', async () => {
      const w = await world();
      const hash = randomBytes(20);
      seedPeer(w.service, hash, '127.0.0.9', 9999);
      const a = await probe(w, '127.0.0.1');
      const other = await probe(w, '127.0.0.1');
      const far = await probe(w, '127.0.0.3');
      const good = await a.connect();
      const forged = Buffer.from(good);
      forged[5]! ^= 0x10;
      const now = Date.now();
      const cases: Array<[string, UdpProbe, Buffer]> = [
        ['zero id', a, Buffer.alloc(8)],
        ['the protocol magic as id', a, connectPacket(0).subarray(0, 8)],
        ['another port', other, good],
        ['another address', far, good],
        ['forged MAC', a, forged],
        ['expired (3 windows old)', a, new ConnectionIds(SECRET).mint('127.0.0.1', a.port, now - 3 * WINDOW_MS)],
        ['another secret', a, new ConnectionIds(SECRET + 'x').mint('127.0.0.1', a.port, now)],
      ];
      for (const [what, p, id] of cases) {
        for (const packet of [announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, port: 7000 }), scrapePacket(id, p.tid(), [hash]), scrapePacket(id, p.tid(), [])]) {
          const answer = await askUnauthenticated(p, packet);
          assert.ok(answer, `${what}: an error packet`);
          assert.equal(answer.readUInt32BE(0), 3, `${what}: action error`);
          assert.equal(answer.readUInt32BE(4), packet.readUInt32BE(12), `${what}: transaction id echoed`);
          assert.match('bad connection id', new RegExp(`^${errorText(answer)}`), what);
        }
      }
      assert.equal(w.service.stats.snapshot().failures.bad_connection_id, cases.length * 3);
      // The previous window's id is still good (a client may keep an id for a minute or two).
      const previous = new ConnectionIds(SECRET).mint('127.0.0.1', a.port, now - WINDOW_MS);
      const ok = await a.ask(announcePacket({ connectionId: previous, transactionId: a.tid(), infoHash: hash, port: 7000 }));
      assert.deepEqual(readAnnounceAnswer(ok!, 6).peers, ['127.0.0.9:9999']);
    });

    test('junk is dropped unanswered (short, unknown action, connect without magic, error packets); the tracker goes on', async () => {
      const w = await world();
      const p = await probe(w);
      const unknown = scrapePacket(Buffer.alloc(8), 77, []);
      unknown.writeUInt32BE(9, 8);
      const errorAction = Buffer.from(unknown);
      errorAction.writeUInt32BE(3, 8);
      const noMagic = connectPacket(78);
      noMagic[0] = 1;
      const junk = [Buffer.alloc(0), Buffer.alloc(1), connectPacket(79).subarray(0, 15), unknown, errorAction, noMagic, randomBytes(1400)];
      for (const j of junk) p.send(j);
      assert.equal(await p.receive(null, 500), null, 'no answer to junk');
      assert.ok(
        w.service.stats.snapshot().failures.bad_request >= junk.length - 1,
        `at least ${junk.length - 1} bad_request failures counted: ${w.service.stats.snapshot().failures.bad_request}`,
      );
      const oversizedConnect = Buffer.concat([connectPacket(80), randomBytes(2000)]);
      assert.equal((await askUnauthenticated(p, oversizedConnect))?.length, 16, 'a connect with trailing bytes is still a connect');
      await p.connect();
    });

    test('refusals with a valid id: short announce, unknown event, port 0, bad options, 75-hash scrape, partial hash', async () => {
      const w = await world();
      const p = await probe(w);
      const id = await p.connect();
      const hash = randomBytes(20);
      const short = announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, port: 1 }).subarray(0, 60);
      const cases: Array<[Buffer, RegExp]> = [
        [short, /shorter than 98/],
        [announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, event: 7, port: 1 }), /unknown event/],
        [announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, port: 0 }), /port/],
        [announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, port: 1, options: Buffer.from([2, 200, 1]) }), /option longer/],
        [scrapePacket(id, p.tid(), Array.from({ length: 75 }, () => hash)), /at most 74/],
        [Buffer.concat([scrapePacket(id, p.tid(), [hash]), Buffer.alloc(7)]), /16 \+ 20/],
      ];
      for (const [packet, re] of cases) {
        const a = await p.ask(packet);
        assert.equal(a?.readUInt32BE(0), 3);
        assert.match(errorText(a!), re);
      }
      assert.equal(w.service.stats.snapshot().failures.bad_request, cases.length);
    });

    test('announce: numwant capped at MAX_PEERS_V4, -1 gives the default; BEP 41 URL data accepted; stopped leaves', async () => {
      const w = await world();
      const hash = randomBytes(20);
      for (let port = 1; port <= 260; port++) seedPeer(w.service, hash, '127.0.0.1', 20000 + port);
      const p = await probe(w);
      const id = await p.connect();
      const big = readAnnounceAnswer((await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, numwant: 100000, port: 7000 })))!, 6);
      assert.equal(big.peers.length, MAX_PEERS_V4);
      assert.equal(big.seeders, 260);
      const dflt = readAnnounceAnswer((await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, numwant: -1, port: 7000 })))!, 6);
      assert.equal(dflt.peers.length, w.service.config.limits.defaultNumwant);
      const withUrl = announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, numwant: 3, port: 7000, options: urlDataOptions('/announce?passkey=abc') });
      assert.equal(readAnnounceAnswer((await p.ask(withUrl))!, 6).peers.length, 3);
      const stopped = readAnnounceAnswer((await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, event: 3, port: 7000 })))!, 6);
      assert.deepEqual([stopped.leechers, stopped.peers], [0, []]);
    });

    test('scrape: one entry per hash asked, in order, duplicates and unknown hashes included; completed counted', async () => {
      const w = await world();
      const [h1, h2, unknown] = [randomBytes(20), randomBytes(20), randomBytes(20)];
      seedPeer(w.service, h1, '127.0.0.5', 5000, 0);
      seedPeer(w.service, h1, '127.0.0.6', 5000, 10);
      seedPeer(w.service, h2, '127.0.0.7', 5000, 10);
      const p = await probe(w);
      const id = await p.connect();
      await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: h2, left: 0n, event: 1, port: 7000 }));
      const tid = p.tid();
      const a = (await p.ask(scrapePacket(id, tid, [h2, unknown, h1, h2])))!;
      assert.equal(a.length, 8 + 4 * 12);
      assert.deepEqual([a.readUInt32BE(0), a.readUInt32BE(4)], [2, tid]);
      const rows = [0, 1, 2, 3].map((i) => [a.readInt32BE(8 + i * 12), a.readInt32BE(12 + i * 12), a.readInt32BE(16 + i * 12)]);
      // seeders, completed, leechers
      assert.deepEqual(rows, [[1, 1, 1], [0, 0, 0], [1, 0, 1], [1, 1, 1]]);
      const empty = (await p.ask(scrapePacket(id, p.tid(), [])))!;
      assert.equal(empty.length, 8);
      assert.deepEqual(w.service.stats.snapshot().requests.udp.scrape, { ok: 2, failed: 0 });
    });

    test('the packet IP field is ignored, unless --trust-ip-param', async () => {
      const hash = randomBytes(20);
      for (const trust of [false, true]) {
        const w = await world({ trustIpParam: trust });
        const p = await probe(w);
        const id = await p.connect();
        await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, ip: 0x0a000001, port: 7000 }));
        const page = await w.service.peers(hash, 0, 10);
        assert.deepEqual(page.peers.map((x) => x.ip), [trust ? '10.0.0.1' : '127.0.0.1']);
      }
    });

    test('a torrent outside the whitelist gets an error packet (the service policy, as over HTTP)', async () => {
      const allowed = randomBytes(20);
      const w = await world({ torrents: { allows: (h) => h.equals(allowed) } });
      const p = await probe(w);
      const id = await p.connect();
      const refused = await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: randomBytes(20), port: 7000 }));
      assert.equal(errorText(refused!), 'torrent not registered');
      const ok = await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: allowed, port: 7000 }));
      assert.equal(ok?.readUInt32BE(0), 1);
      assert.equal(w.service.stats.snapshot().failures.not_registered, 1);
    });
  });
}
