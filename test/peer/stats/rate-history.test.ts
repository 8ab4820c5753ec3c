/** RateHistory: rates from cumulative counters, a fixed ring, means over the last samples. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateHistory } from '../../../src/peer/stats/rate-history.ts';

test('each feed after the first is one sample: the counters\' growth per second', () => {
  const h = new RateHistory(4);
  h.feed(1000, 0, 0);
  assert.deepEqual(h.points(), []);
  h.feed(2000, 500, 100);
  h.feed(4000, 1500, 100);
  assert.deepEqual(h.points(), [
    { at: 2000, down: 500, up: 100 },
    { at: 4000, down: 500, up: 0 },
  ]);
  assert.deepEqual(h.recent(2), { down: 500, up: 50 });
});

test('the ring keeps the newest `capacity` samples, oldest first', () => {
  const h = new RateHistory(3);
  for (let s = 0; s <= 6; s++) h.feed(s * 1000, s * s * 10, 0);
  const pts = h.points();
  assert.equal(pts.length, 3);
  assert.deepEqual(pts.map((p) => p.at), [4000, 5000, 6000]);
  assert.deepEqual(pts.map((p) => p.down), [70, 90, 110]);
  assert.equal(h.recent(10).down, 90);
});

test('a counter that goes down, or a clock that does not move, never gives a negative or infinite rate', () => {
  const h = new RateHistory(5);
  h.feed(1000, 100, 100);
  h.feed(1000, 200, 200);
  h.feed(2000, 50, 300);
  assert.deepEqual(h.points(), [{ at: 2000, down: 0, up: 100 }]);
  assert.deepEqual(new RateHistory().recent(5), { down: 0, up: 0 });
});
