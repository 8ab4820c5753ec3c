/** One sweep timer for every block request's deadline (src/peer/wire/request-deadlines.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestDeadlines } from '../../../src/peer/wire/request-deadlines.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('RequestDeadlines: settled requests pass through; one left unanswered fails within 1.25 x the deadline', async () => {
  const d = new RequestDeadlines(200, () => new Error('sent nothing'));
  let answer!: (v: string) => void;
  const answered = d.watch(new Promise<string>((r) => (answer = r)));
  const failed = d.watch(Promise.reject(new Error('choked')));
  const silent = d.watch(new Promise<string>(() => {}));
  const t0 = performance.now();
  await assert.rejects(failed, /choked/);
  answer('block');
  assert.equal(await answered, 'block');
  assert.equal(d.size, 1);
  await assert.rejects(silent, /sent nothing/);
  const took = performance.now() - t0;
  assert.ok(took >= 195 && took < 400, `failed after ${took.toFixed(0)} ms`);
  assert.equal(d.size, 0);
});

test('RequestDeadlines: only the requests that ran out of time fail; younger ones keep waiting', async () => {
  const d = new RequestDeadlines(300, () => new Error('late'));
  const old = d.watch(new Promise(() => {}));
  await sleep(200);
  let answer!: (v: number) => void;
  const young = d.watch(new Promise<number>((r) => (answer = r)));
  await assert.rejects(old, /late/);
  assert.equal(d.size, 1, 'the younger one is still watched');
  answer(7);
  assert.equal(await young, 7);
  assert.equal(d.size, 0);
});
