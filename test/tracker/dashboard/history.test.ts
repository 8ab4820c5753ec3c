import test from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SAMPLE_GAP_MS, RateHistory } from '../../../src/tracker/dashboard/history.ts';

test('rates between consecutive samples, per second', () => {
  const h = new RateHistory();
  assert.equal(h.sample(1000, 100, 10), undefined, 'one sample is no rate');
  assert.deepEqual(h.sample(2000, 150, 10), { t: 2000, announces: 50, scrapes: 0 });
  assert.deepEqual(h.sample(2500, 200, 20), { t: 2500, announces: 100, scrapes: 20 });
  assert.equal(h.all().length, 2);
  assert.equal(h.latest()?.t, 2500);
});

test('no rate across a gap (nobody watched), a counter going down, or time going back', () => {
  const h = new RateHistory();
  h.sample(1000, 0, 0);
  assert.equal(h.sample(1000 + MAX_SAMPLE_GAP_MS + 1, 500, 0), undefined);
  assert.equal(h.sample(7000, 400, 0), undefined);
  assert.equal(h.sample(6000, 450, 0), undefined);
  assert.ok(h.sample(7000, 460, 0) !== undefined, 'resumes after');
});

test('the ring keeps the newest points only', () => {
  const h = new RateHistory(3);
  for (let i = 0; i <= 5; i++) h.sample(i * 1000, i, 0);
  assert.deepEqual(h.all().map((p) => p.t), [3000, 4000, 5000]);
});
