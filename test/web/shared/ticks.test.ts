import test from 'node:test';
import assert from 'node:assert/strict';
import { niceAxis, niceStep } from '../../../src/web/shared/ticks.ts';

test('niceStep picks 1, 2 or 5 x 10^n', () => {
  assert.equal(niceStep(100, 4), 50);
  assert.equal(niceStep(10, 4), 5);
  assert.equal(niceStep(7, 4), 2);
  assert.equal(niceStep(0.3, 4), 0.1);
  assert.equal(niceStep(0, 4), 1);
});

test('niceAxis covers the data from 0 with round ticks', () => {
  const a = niceAxis(0, 173);
  assert.equal(a.min, 0);
  assert.ok(a.max >= 173, `the axis covers 173: max ${a.max}`);
  assert.deepEqual(a.ticks, [0, 50, 100, 150, 200]);
  for (let i = 1; i < a.ticks.length; i++) assert.equal(a.ticks[i]! - a.ticks[i - 1]!, a.step);
});

test('a flat or empty range still has a scale', () => {
  assert.deepEqual(niceAxis(0, 0).ticks.slice(0, 2), [0, 0.5]);
  assert.equal(niceAxis(0, Number.NaN).max, 1);
  assert.ok(niceAxis(0, 1e-7).ticks.length <= 50, `at most 50 ticks for a tiny range: ${niceAxis(0, 1e-7).ticks.length}`);
});

test('fractional steps do not accumulate float noise', () => {
  assert.deepEqual(niceAxis(0, 0.3).ticks, [0, 0.1, 0.2, 0.3]);
});
