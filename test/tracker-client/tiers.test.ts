/** BEP 12 tiers alone: which trackers are used, and the order they are tried in. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstAnswer, trackerTiers } from '../../src/tracker-client/tiers.ts';

test('trackerTiers: BEP 12 tiers in order, http(s) and udp kept, other schemes and empty tiers dropped, announce as fallback', () => {
  const a = 'http://a/announce';
  const b = 'https://b/announce';
  const c = 'http://c/announce';
  const u = 'udp://u:80/announce';
  const w = 'wss://w/announce';
  assert.deepEqual(trackerTiers(a, []), [[a]]);
  assert.deepEqual(trackerTiers(u, []), [[u]], 'a torrent with only a udp tracker announces to it');
  assert.deepEqual(trackerTiers(w, []), [], 'a websocket tracker alone gives nothing');
  assert.deepEqual(trackerTiers(undefined, []), []);
  // announce-list wins over announce (BEP 12).
  assert.deepEqual(trackerTiers(c, [[w], [u]]), [[u]]);
  assert.deepEqual(trackerTiers(c, [[w]]), [[c]], 'no usable tracker in announce-list: announce');
  const tiers = trackerTiers(undefined, [[a, w, u, b], [w], [c]]);
  assert.equal(tiers.length, 2);
  assert.deepEqual([...tiers[0]!].sort(), [a, b, u].sort(), 'tier 1: a, b and u, shuffled, wss dropped');
  assert.deepEqual(tiers[1], [c]);
  assert.deepEqual(trackerTiers(undefined, [['HTTP://A/announce', 'UDP://B:1']]).map((t) => [...t].sort()), [['HTTP://A/announce', 'UDP://B:1']], 'scheme is case-insensitive');
});

test('firstAnswer: tiers in order, the tracker that answered moves to the front of its tier, the last error when none answers', async () => {
  const tried: string[] = [];
  const answers = (ok: Set<string>) => async (t: string) => {
    tried.push(t);
    if (!ok.has(t)) throw new Error(`${t} is down`);
    return `reply of ${t}`;
  };
  const tiers = [['a1', 'a2', 'a3'], ['b1']];
  assert.equal(await firstAnswer(tiers, answers(new Set(['a3', 'b1']))), 'reply of a3');
  assert.deepEqual(tried, ['a1', 'a2', 'a3']);
  assert.deepEqual(tiers, [['a3', 'a1', 'a2'], ['b1']], 'a3 answered: first of its tier');
  tried.length = 0;
  assert.equal(await firstAnswer(tiers, answers(new Set(['b1']))), 'reply of b1');
  assert.deepEqual(tried, ['a3', 'a1', 'a2', 'b1'], 'a whole tier fails before the next is tried');
  assert.deepEqual(tiers, [['a3', 'a1', 'a2'], ['b1']]);
  await assert.rejects(firstAnswer(tiers, answers(new Set())), /b1 is down/);
  await assert.rejects(firstAnswer([], answers(new Set())), /no tracker to announce to/);
});

test('firstAnswer: an aborted signal stops before the next tracker', async () => {
  const ac = new AbortController();
  const tried: string[] = [];
  const tryOne = async (t: string) => {
    tried.push(t);
    ac.abort(new Error('out of time'));
    throw new Error(`${t} is down`);
  };
  await assert.rejects(firstAnswer([['a', 'b'], ['c']], tryOne, ac.signal), /out of time/);
  assert.deepEqual(tried, ['a']);
});
