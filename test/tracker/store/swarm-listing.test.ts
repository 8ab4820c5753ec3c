/**
 * The swarm listing (the dashboard's table): the bounded selection against a plain sort, then
 * the memory store and (when redis-server is installed) the Redis store after real announces.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { boundedQuery, compareSwarms, MAX_LISTING_DEPTH, MAX_SWARMS_PER_PAGE, SWARM_SORTS, SwarmSelection, type SwarmQuery, type SwarmSummary } from '../../../src/tracker/store/swarm-listing.ts';
import { MemorySwarmStore } from '../../../src/tracker/store/memory-store.ts';
import { RedisSwarmStore } from '../../../src/tracker/store/redis-store.ts';
import type { SwarmStore } from '../../../src/tracker/store/swarm-store.ts';
import type { AnnounceRequest } from '../../../src/tracker/protocol/announce.ts';
import { check, runs } from '../../support/fuzz.ts';
import { redisSuite } from '../../support/redis-suite.ts';

const summary = fc.record({
  infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => Buffer.from(u)),
  seeders: fc.nat(5),
  leechers: fc.nat(5),
  completed: fc.nat(5),
  lastAnnounce: fc.nat(5),
});
const query = fc.record({
  sort: fc.constantFrom(...SWARM_SORTS),
  order: fc.constantFrom('asc' as const, 'desc' as const),
  offset: fc.nat(30),
  limit: fc.integer({ min: 1, max: 20 }),
  prefix: fc.constant(''),
});

test('the selection is the page of a full sort, for every sort and order', (t) => {
  check(
    t,
    'selection = sort + slice',
    fc.property(fc.uniqueArray(summary, { selector: (s) => s.infoHash.toString('hex'), maxLength: 80 }), query, (swarms, q) => {
      const selection = new SwarmSelection(q);
      for (const s of swarms) selection.offer(s.infoHash, 0, s.seeders, s.leechers, s.completed, s.lastAnnounce);
      const expected = [...swarms].sort((a, b) => compareSwarms(a, b, q.sort, q.order)).slice(q.offset, q.offset + q.limit);
      assert.equal(selection.total, swarms.length);
      assert.deepEqual(selection.page().map((s) => s.infoHash.toString('hex')), expected.map((s) => s.infoHash.toString('hex')));
    }),
    runs(300),
  );
});

test('queries are bounded: page size, depth, prefix', () => {
  const q = boundedQuery({ sort: 'seeders', order: 'desc', offset: 1e9, limit: 1e9, prefix: 'zz' });
  assert.equal(q.limit, MAX_SWARMS_PER_PAGE);
  assert.equal(q.offset + q.limit, MAX_LISTING_DEPTH);
  assert.equal(q.prefix, '');
  assert.equal(boundedQuery({ ...q, limit: 0, offset: -5 }).limit, 1);
  assert.equal(boundedQuery({ ...q, limit: 0, offset: -5 }).offset, 0);
});

/** Info hash number `i`: SHA-1 of its decimal, as the test torrents' hashes are spread. */
const hashOf = (i: number) => createHash('sha1').update(String(i)).digest();

function announce(ih: Buffer, peer: number, over: Partial<AnnounceRequest> = {}): AnnounceRequest {
  return { infoHash: ih, peerId: Buffer.alloc(20, peer), ip: `10.9.${peer >> 8}.${peer & 0xff}`, family: 4, port: 6000 + peer, uploaded: 0, downloaded: 0, left: 1, event: 'none', numwant: 0, compact: true, noPeerId: true, ...over };
}

/** 30 swarms: swarm i has i % 5 seeders and 1 leecher, i % 3 completions, last announce at 1000 + i. */
async function fill(store: SwarmStore): Promise<void> {
  for (let i = 0; i < 30; i++) {
    const ih = hashOf(i);
    for (let s = 0; s < i % 5; s++) await store.announce(announce(ih, 100 + s, { left: 0 }), 1000);
    for (let c = 0; c < i % 3; c++) await store.announce(announce(ih, 200 + c, { left: 0, event: 'completed' }), 1000);
    for (let c = 0; c < i % 3; c++) await store.announce(announce(ih, 200 + c, { event: 'stopped' }), 1000);
    await store.announce(announce(ih, 1), 1000 + i);
  }
}

function listingSuite(name: string, open: () => Promise<SwarmStore>): void {
  describe(`${name}.listSwarms`, () => {
    test('sorted pages, totals, prefix search, completions', async () => {
      const store = await open();
      await fill(store);
      const list = (q: Partial<SwarmQuery>) => store.listSwarms!({ sort: 'seeders', order: 'desc', offset: 0, limit: 10, prefix: '', ...q }, 2000);
      const top = await list({});
      assert.equal(top.total, 30);
      assert.equal(top.swarms.length, 10);
      assert.deepEqual(top.swarms.map((s) => s.seeders).slice(0, 6), [4, 4, 4, 4, 4, 4]);
      for (const s of top.swarms) assert.equal(s.leechers, 1);
      const last = await list({ sort: 'last_announce', order: 'desc', limit: 3 });
      assert.deepEqual(last.swarms.map((s) => s.infoHash.toString('hex')), [29, 28, 27].map((i) => hashOf(i).toString('hex')));
      assert.deepEqual(last.swarms.map((s) => s.lastAnnounce), [1029, 1028, 1027]);
      const third = await list({ sort: 'info_hash', order: 'asc', offset: 20, limit: 10 });
      const all = [...Array(30).keys()].map((i) => hashOf(i).toString('hex')).sort();
      assert.deepEqual(third.swarms.map((s) => s.infoHash.toString('hex')), all.slice(20));
      const one = hashOf(7).toString('hex');
      const found = await list({ prefix: one.slice(0, 5) });
      assert.ok(found.swarms.some((s) => s.infoHash.toString('hex') === one), `the prefix ${one.slice(0, 5)} finds ${one}`);
      for (const s of found.swarms)
        assert.ok(s.infoHash.toString('hex').startsWith(one.slice(0, 5)), `a swarm found starts with ${one.slice(0, 5)}: ${s.infoHash.toString('hex')}`);
      const exact = await list({ prefix: one });
      assert.equal(exact.total, 1);
      assert.deepEqual([exact.swarms[0]!.seeders, exact.swarms[0]!.completed], [2, 1]);
      assert.equal((await list({ prefix: 'f'.repeat(40) })).total, 0);
      // i % 3 completions per swarm: 0+1+2 per three swarms, ten times.
      assert.equal(await store.completedDownloads!(), 30);
    });
  });
}

listingSuite('MemorySwarmStore', async () => new MemorySwarmStore(60_000, { exempt: [] }));

test('the memory listing walks 50,000 swarms in slices: announces get through meanwhile', async () => {
  const store = new MemorySwarmStore(60_000, { newTorrentsBurst: 1e6 });
  for (let i = 0; i < 50_000; i++) store.announce(announce(hashOf(i), 1, { left: i % 7 }), 1000 + (i % 1000));
  // An announce stream running beside the walk: each one must wait for a slice to end.
  let answered = 0;
  let running = true;
  const stream = (async () => {
    while (running) {
      await new Promise((r) => setImmediate(r));
      store.announce(announce(hashOf(answered % 100), 2), 1500);
      answered++;
    }
  })();
  const page = await store.listSwarms({ sort: 'last_announce', order: 'desc', offset: 0, limit: 50, prefix: '' }, 2000);
  running = false;
  await stream;
  assert.equal(page.total, 50_000);
  assert.equal(page.swarms.length, 50);
  assert.equal(page.swarms[0]!.lastAnnounce, 1999);
  // Slices of ~2 ms over a walk of tens of ms: announces were answered between them.
  assert.ok(answered >= 3, `announces answered during the walk: ${answered}`);
});

const opened: RedisSwarmStore[] = [];
redisSuite('RedisSwarmStore.listSwarms needs redis-server', () => Promise.all(opened.map((s) => s.close())), (redis) => {
  let n = 0;
  listingSuite('RedisSwarmStore', async () => {
    const s = await RedisSwarmStore.open({ url: (await redis()).url, ttlMs: 60_000, limits: { exempt: [] }, prefix: `list${n++}:` });
    opened.push(s);
    return s;
  });
});
