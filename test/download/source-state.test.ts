/**
 * Per-source rates and slow fetches (src/download/source-state.ts), through the Downloader:
 * trickling fetches lose their piece to an idle honest source and give up their buffer when
 * another fetch waits for one; slow but honest sources are not cancelled in turn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Downloader } from '../../src/download/downloader.ts';
import { assertStoreEquals, FakeSource, options, setup, sleep, TrickleSource } from './fakes.ts';

test('two trickling sources holding the last piece: an idle honest source takes it over; done in bounded time', async () => {
  const s = await setup(24, 16 * 1024);
  try {
    const last = s.meta.pieceCount - 1;
    // Both tricklers hold only the last piece: the first takes it, the second joins it (endgame),
    // which once locked every other source out of it for good.
    const t1 = new TrickleSource('trickle1', '10.0.5.1', s.meta, (i) => i === last);
    const t2 = new TrickleSource('trickle2', '10.0.5.2', s.meta, (i) => i === last);
    const honest = new FakeSource({ id: 'honest', address: '10.0.5.3', data: s.data, meta: s.meta, maxInFlight: 2, delayMs: 10 });
    const pieceFrom = new Map<number, string>();
    const dropped: string[] = [];
    const dl = new Downloader(s.meta, s.store, s.have, options({ rateWindowMs: 300, stallTimeoutMs: 5000 }), {
      onPiece: (i, from) => pieceFrom.set(i, from.id),
      onSourceDropped: (src) => dropped.push(src.id),
    });
    dl.addSource(t1);
    dl.addSource(t2);
    await sleep(30);
    assert.ok(t1.requested.includes(last) && t2.requested.includes(last), 'both tricklers are on the last piece');
    dl.addSource(honest);
    const t0 = Date.now();
    await dl.run();
    const took = Date.now() - t0;
    await assertStoreEquals(s);
    assert.equal(pieceFrom.get(last), 'honest');
    assert.ok(took < 3000, `done in ${took} ms (the stall timeout is 5 s)`);
    assert.ok(t1.aborted >= 1 && t2.aborted >= 1, 'the trickling fetches were cancelled');
    assert.deepEqual(dropped, [], 'slowness alone drops nobody');
  } finally {
    await s.remove();
  }
});

test('a trickling fetch gives up its buffer when another fetch waits for one (room for one piece)', async () => {
  const s = await setup(6, 16 * 1024);
  try {
    const trickler = new TrickleSource('trickle', '10.0.6.1', s.meta, () => true);
    const honest = new FakeSource({ id: 'honest', address: '10.0.6.2', data: s.data, meta: s.meta, maxInFlight: 1, delayMs: 5 });
    const dl = new Downloader(s.meta, s.store, s.have, options({ budgetBytes: s.meta.pieceLength, rateWindowMs: 300, stallTimeoutMs: 5000 }));
    dl.addSource(trickler); // takes the only buffer
    await sleep(30);
    dl.addSource(honest);
    const t0 = Date.now();
    await dl.run();
    await assertStoreEquals(s);
    assert.ok(Date.now() - t0 < 4000, `done in ${Date.now() - t0} ms`);
    assert.ok(trickler.aborted >= 1, 'the trickling fetch was aborted');
  } finally {
    await s.remove();
  }
});

test('two slow but honest sources are not cancelled in turn (no ping-pong): both finish', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    // 16 KiB pieces in 1 s each: 16 KiB/s, below a 64 KiB/s floor.
    const a = new FakeSource({ id: 'slowA', address: '10.0.7.1', data: s.data, meta: s.meta, maxBlock: 1024, delayMs: 62 });
    const b = new FakeSource({ id: 'slowB', address: '10.0.7.2', data: s.data, meta: s.meta, maxBlock: 1024, delayMs: 62 });
    const dl = new Downloader(s.meta, s.store, s.have, options({ minFetchRate: 64 * 1024, rateWindowMs: 300, stallTimeoutMs: 5000 }));
    dl.addSource(a);
    dl.addSource(b);
    await dl.run();
    await assertStoreEquals(s);
    const restarts = a.aborted.length + b.aborted.length;
    assert.ok(restarts <= 4, `few cancelled requests (${restarts})`);
  } finally {
    await s.remove();
  }
});
