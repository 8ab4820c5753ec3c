import test from 'node:test';
import assert from 'node:assert/strict';
import { BusyError, TtlCache, WorkQueue } from '../../src/dashboard/cache.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('TtlCache shares an answer while it is computed and for ttl after; failures are not kept', async () => {
  const cache = new TtlCache<number>(100);
  let made = 0;
  const make = async () => {
    await sleep(20);
    return ++made;
  };
  const [a, b] = await Promise.all([cache.get('k', make), cache.get('k', make)]);
  assert.deepEqual([a, b, made], [1, 1, 1]);
  assert.equal(await cache.get('k', make), 1);
  await sleep(130);
  assert.equal(await cache.get('k', make), 2);
  assert.equal(await cache.get('other', make), 3);
  await assert.rejects(cache.get('bad', () => Promise.reject(new Error('x'))));
  assert.equal(await cache.get('bad', make), 4, 'a failure is computed again');
});

test('TtlCache holds at most maxEntries', async () => {
  const cache = new TtlCache<number>(60_000, 3);
  let made = 0;
  for (const k of ['a', 'b', 'c', 'd']) await cache.get(k, async () => ++made);
  assert.equal(await cache.get('a', async () => ++made), 5, 'the oldest went');
  assert.equal(await cache.get('d', async () => ++made), 4, 'the newest stayed');
});

test('WorkQueue runs at most `concurrency` jobs and refuses beyond the queue', async () => {
  const q = new WorkQueue(1, 2);
  let running = 0;
  let most = 0;
  const job = async () => {
    running++;
    most = Math.max(most, running);
    await sleep(30);
    running--;
    return 1;
  };
  const jobs = [q.run(job), q.run(job), q.run(job)];
  await assert.rejects(q.run(job), BusyError);
  assert.deepEqual(await Promise.all(jobs), [1, 1, 1]);
  assert.equal(most, 1);
  assert.equal(await q.run(job), 1, 'free again');
});
