/**
 * The Redis store against a real redis-server (started here on a free port, empty): the store
 * conformance suite, then what only a shared store has: several clients on one Redis, the peer
 * sample's ids, bounded expiry slices, key TTLs, and faults (Redis stopped, hung, restarted empty,
 * scripts flushed, unreachable at start).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisSwarmStore } from '../../../src/tracker/store/redis-store.ts';
import { StoreUnavailableError, type StoreLimits } from '../../../src/tracker/store/swarm-store.ts';
import { TrackerStats } from '../../../src/tracker/metrics/stats.ts';
import type { AnnounceRequest } from '../../../src/tracker/protocol/announce.ts';
import { startRedis } from '../../../harness/redis.ts';
import { freePort, until } from '../../support/procs.ts';
import { redisSuite } from '../../support/redis-suite.ts';
import { storeConformance } from '../store.conformance.ts';

const TTL = 60_000;
const opened: RedisSwarmStore[] = [];
let prefixes = 0;

function req(ip: string, port: number, over: Partial<AnnounceRequest> = {}): AnnounceRequest {
  return { infoHash: Buffer.alloc(20, 1), peerId: Buffer.alloc(20, port & 0xff), ip, family: ip.includes(':') ? 6 : 4, port, uploaded: 0, downloaded: 0, left: 1, event: 'none', numwant: 50, compact: true, noPeerId: true, ...over };
}

/** Compact IPv4 peers as `a.b.c.d:port`. */
function v4List(b: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 6 <= b.length; at += 6) out.push(`${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}:${b.readUInt16BE(at + 4)}`);
  return out;
}

redisSuite('RedisSwarmStore needs redis-server', () => Promise.all(opened.map((s) => s.close())), (redis) => {
  /** A store on the file's redis-server, closed after the file's tests. */
  async function open(limits: Partial<StoreLimits> = {}, o: { stats?: TrackerStats; prefix?: string; ttlMs?: number } = {}): Promise<RedisSwarmStore> {
    const s = await RedisSwarmStore.open({ url: (await redis()).url, ttlMs: o.ttlMs ?? TTL, limits: { exempt: [], ...limits }, stats: o.stats, prefix: o.prefix ?? `t${prefixes++}:` });
    opened.push(s);
    return s;
  }

  storeConformance('RedisSwarmStore', (ttlMs, limits) => open(limits, { ttlMs }));

  describe('RedisSwarmStore on a shared Redis', () => {
    test('two stores on one Redis (two tracker processes) see one swarm', async () => {
      const prefix = `shared${prefixes++}:`;
      const a = await open({}, { prefix });
      const b = await open({}, { prefix });
      await a.announce(req('10.1.0.1', 1, { left: 0 }), 1000);
      const r = await b.announce(req('10.1.0.2', 2), 1000);
      assert.deepEqual(v4List(r.peers.v4), ['10.1.0.1:1']);
      assert.deepEqual([r.complete, r.incomplete], [1, 1]);
      assert.deepEqual(await a.counts(), { swarms: 1, peers: 2, seeders: 1 });
    });

    test('the sample is distinct peers, never the announcer; peer ids in the same order when asked', async () => {
      const s = await open();
      for (let i = 1; i <= 30; i++) await s.announce(req(`10.2.0.${i}`, 6000 + i), 1000);
      await s.announce(req('2001:db8::5', 7000), 1000);
      for (let round = 0; round < 5; round++) {
        const r = await s.announce(req('10.2.0.7', 6007, { compact: false, noPeerId: false, numwant: 20 }), 1000);
        const got = v4List(r.peers.v4);
        assert.equal(got.length + r.peers.v6.length / 18, 20);
        assert.equal(new Set(got).size, got.length);
        assert.ok(!got.includes('10.2.0.7:6007'), `the announcing peer 10.2.0.7:6007 is not in its own list: ${got.join(' ')}`);
        got.forEach((p, i) => assert.equal(r.peers.ids4![i * 20], Number(p.split(':')[1]) & 0xff, `id of ${p}`));
        assert.equal(r.peers.ids6!.length, r.peers.v6.length / 18 * 20);
      }
      const compact = await s.announce(req('10.2.0.7', 6007), 1000);
      assert.equal(compact.peers.ids4, undefined);
    });

    test('expiry slices drop a bounded number of peers each, and a pass ends with nothing left', async () => {
      const s = await open();
      for (let t = 0; t < 20; t++) for (let i = 0; i < 40; i++) await s.announce(req(`10.3.${t}.${i}`, 1, { infoHash: Buffer.alloc(20, 100 + t) }), 1000);
      assert.deepEqual(await s.counts(), { swarms: 20, peers: 800, seeders: 0 });
      const later = 1000 + TTL + 1;
      assert.equal(await s.expireSome(later, 1), false, 'one 1 ms slice cannot drop 800 peers');
      const after1 = await s.counts();
      assert.ok(after1.peers >= 800 - 256 && after1.peers < 800, `peers after one slice: ${after1.peers}`);
      let slices = 1;
      while (!(await s.expireSome(later, 1))) slices++;
      assert.ok(slices >= 3, `slices: ${slices}`);
      assert.deepEqual(await s.counts(), { swarms: 0, peers: 0, seeders: 0 });
    });

    test('swarms dropped by their key TTL leave the index at the next pass; with none left the totals are reset', async () => {
      const prefix = `vanish${prefixes++}:`;
      const s = await open({}, { prefix });
      await s.announce(req('10.9.0.1', 1, { left: 0 }), 1000);
      await s.announce(req('10.9.0.2', 2), 1000);
      const c = new Redis((await redis()).url);
      try {
        // What Redis does when the keys' TTL ends: the keys go, nothing else is told.
        await c.del(Buffer.concat([Buffer.from(`${prefix}z`), Buffer.alloc(20, 1)]), Buffer.concat([Buffer.from(`${prefix}h`), Buffer.alloc(20, 1)]));
      } finally {
        c.disconnect();
      }
      assert.deepEqual(await s.counts(), { swarms: 1, peers: 2, seeders: 1 }, 'before the pass: as last known');
      await s.expire(1000 + TTL + 1);
      assert.deepEqual(await s.counts(), { swarms: 0, peers: 0, seeders: 0 });
    });

    test('a process whose clock is behind still has its peers expired on time (the index follows the oldest peer)', async () => {
      const s = await open();
      await s.announce(req('10.10.0.1', 1), 1000);
      await s.announce(req('10.10.0.2', 2), 500); // another process, 500 ms behind
      await s.expire(800 + TTL);
      assert.deepEqual(await s.list(Buffer.alloc(20, 1), 800 + TTL).then((p) => p.peers.map((x) => x.port)), [1]);
      assert.equal((await s.counts()).peers, 1);
    });

    test('swarm keys carry a TTL of 2 x the peer lifetime', async () => {
      const prefix = `ttl${prefixes++}:`;
      const s = await open({}, { prefix });
      await s.announce(req('10.4.0.1', 1), 1000);
      const c = new Redis((await redis()).url);
      try {
        const ttl = await c.pttl(Buffer.concat([Buffer.from(`${prefix}z`), Buffer.alloc(20, 1)]));
        assert.ok(ttl > 2 * TTL - 5000 && ttl <= 2 * TTL, `pttl ${ttl}`);
      } finally {
        c.disconnect();
      }
    });
  });

  describe('RedisSwarmStore faults', () => {
    test('unreachable at start: a one-line reason naming the address', async () => {
      const port = await freePort();
      await assert.rejects(RedisSwarmStore.open({ url: `redis://127.0.0.1:${port}`, ttlMs: TTL }), new RegExp(`^Error: cannot reach Redis at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    });

    test('Redis stopped: announces fail at once, nothing queued; restarted empty on the same port: served again by itself', async () => {
      const own = await startRedis();
      const stats = new TrackerStats();
      try {
        const s = await RedisSwarmStore.open({ url: own.url, ttlMs: TTL, limits: { exempt: [] }, stats });
        opened.push(s);
        await s.announce(req('10.6.0.1', 1), 1000);
        await own.stop();
        // Each refusal must come from the closed connection, not from the 1.5 s command timeout.
        let started = performance.now();
        await assert.rejects(s.announce(req('10.6.1.1', 999), 1000), StoreUnavailableError);
        assert.ok(performance.now() - started < 1000, `first refusal after ${performance.now() - started} ms`);
        started = performance.now();
        const outcomes = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => s.announce(req('10.6.1.1', 1000 + i), 1000)));
        const took = performance.now() - started;
        assert.ok(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof StoreUnavailableError), 'every announce refused as store_unavailable');
        assert.ok(took < 1000, `500 refusals took ${took} ms`);
        assert.ok(stats.storeErrors >= 501, `at least 501 store errors counted: ${stats.storeErrors}`);
        await assert.rejects(s.scrape([Buffer.alloc(20, 1)], 1000), StoreUnavailableError);
        assert.equal(await s.expireSome(1000, 1), true, 'an expiry slice is skipped, not thrown');
        await own.start();
        // Back by itself (reconnect with backoff), empty: it fills again as clients re-announce.
        await until(async () => s.announce(req('10.6.0.2', 2), 1000).then(() => true, () => false), 10_000, () => 'not served again after the restart');
        const r = await s.announce(req('10.6.0.1', 1), 1000);
        assert.deepEqual(v4List(r.peers.v4), ['10.6.0.2:2']);
      } finally {
        await own.close();
      }
    });

    test('Redis hung (SIGSTOP): announces fail within the command timeout; answered again after SIGCONT', async () => {
      const own = await startRedis();
      try {
        const s = await RedisSwarmStore.open({ url: own.url, ttlMs: TTL, limits: { exempt: [] } });
        opened.push(s);
        await s.announce(req('10.7.0.1', 1), 1000);
        own.proc()!.kill('SIGSTOP');
        const started = performance.now();
        await assert.rejects(s.announce(req('10.7.0.2', 2), 1000), StoreUnavailableError);
        const took = performance.now() - started;
        assert.ok(took < 2500, `refused after ${took} ms`);
        own.proc()!.kill('SIGCONT');
        await until(async () => s.announce(req('10.7.0.2', 2), 1000).then(() => true, () => false), 10_000, () => 'not served again after SIGCONT');
        assert.equal((await s.counts()).peers, 2);
      } finally {
        own.proc()?.kill('SIGCONT');
        await own.close();
      }
    });

    test('a database number in the URL is used; one out of range is refused at start, not replaced by DB 0', async () => {
      const { url } = await redis();
      const s = await RedisSwarmStore.open({ url: `${url}/3`, ttlMs: TTL, prefix: `db${prefixes++}:` });
      opened.push(s);
      await s.announce(req('10.8.0.1', 1), 1000);
      const c = new Redis(`${url}/3`);
      try {
        assert.ok((await c.dbsize()) > 0, 'the store wrote into database 3');
      } finally {
        c.disconnect();
      }
      await assert.rejects(RedisSwarmStore.open({ url: `${url}/99`, ttlMs: TTL }), /cannot reach Redis at 127\.0\.0\.1:\d+: ERR DB index is out of range/);
    });

    test('scripts flushed (a Redis restarted from a snapshot) are loaded again, every announce in flight served', async () => {
      const s = await open();
      const c = new Redis((await redis()).url);
      try {
        await c.script('FLUSH');
      } finally {
        c.disconnect();
      }
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => s.announce(req(`10.5.0.${1 + i}`, 1), 1000)));
      assert.equal(answers.length, 50);
      assert.equal((await s.counts()).peers, 50);
    });
  });
});
