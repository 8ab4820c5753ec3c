/**
 * The tracker service and the HTTP handler over it, with a store that answers at once (the memory
 * store) and with one that answers through promises (as a networked store would): the same answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, isDict, type BDict } from '../../src/metainfo/bencode.ts';
import { MemorySwarmStore } from '../../src/tracker/store/memory-store.ts';
import type { StoreLimits, SwarmStore } from '../../src/tracker/store/swarm-store.ts';
import { TrackerService, trackerConfig } from '../../src/tracker/service.ts';
import { HttpTrackerHandler } from '../../src/tracker/http/handler.ts';
import { storeConformance } from './store.conformance.ts';

/** The memory store behind promises only. */
function asyncStore(ttlMs: number, limits: Partial<StoreLimits> = {}): SwarmStore {
  const m = new MemorySwarmStore(ttlMs, limits);
  return {
    announce: async (req, now) => m.announce(req, now),
    scrape: (hashes, now) => m.scrape(hashes, now),
    list: (h, now, from, max) => m.list(h, now, from, max),
    expireSome: async (now, budget) => m.expireSome(now, budget),
    expire: (now) => m.expire(now),
    counts: () => m.counts(),
  };
}

storeConformance('a store behind promises', asyncStore);

const query = (hash: string, port: number) => `info_hash=${hash.repeat(20)}&peer_id=${'%02'.repeat(20)}&port=${port}&left=0&compact=1`;

for (const [name, make] of [
  ['at once', (limits: Partial<StoreLimits>) => new MemorySwarmStore(60_000, limits)],
  ['through promises', (limits: Partial<StoreLimits>) => asyncStore(60_000, limits)],
] as const) {
  test(`handler over a store answering ${name}: answers, failure reasons, scrape`, async () => {
    const handler = new HttpTrackerHandler(new TrackerService(make({ maxPeersPerTorrent: 1 }), trackerConfig(30)));
    const answer = async (b: Buffer | Promise<Buffer>): Promise<BDict> => {
      const d = decode(await b);
      assert.ok(isDict(d), 'the answer decodes to a dict');
      return d;
    };
    const first = await answer(handler.announce(query('%01', 1), '10.0.0.1', undefined));
    assert.equal(first['interval'], 30);
    assert.equal(first['min interval'], 15);
    assert.equal(first['complete'], 1);
    assert.match(String((await answer(handler.announce(query('%01', 2), '10.0.0.2', undefined)))['failure reason']), /torrent is full/);
    assert.match(String((await answer(handler.announce('port=1', '10.0.0.2', undefined)))['failure reason']), /missing/);
    assert.match(String((await answer(handler.announce(query('%01', 2), undefined, undefined)))['failure reason']), /no remote address/);
    const scrape = await answer(handler.scrape(`info_hash=${'%01'.repeat(20)}`));
    assert.ok(isDict(scrape['files']), `the scrape answer has a files dict: ${JSON.stringify(scrape)}`);
  });
}
