/**
 * The download scheduler (src/download/downloader.ts) with fake in-process PieceSources: rarest
 * first through the downloader, a piece never given up while an honest source has it, stalled
 * sources beaten by endgame, the byte budget, the stall timeout. Real PieceStores on temp folders.
 * Bans and limits: source-gate.test.ts; slow and trickling fetches: source-state.test.ts; the
 * picker alone: picker.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Downloader, DownloadError } from '../../src/download/downloader.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { pieceSize } from '../../src/metainfo/metainfo.ts';
import { assertStoreEquals, FakeSource, options, pieceOrder, setup, sleep } from './fakes.ts';

test('rarest first: a source is first given the pieces fewest sources hold', async () => {
  const s = await setup(16, 16 * 1024);
  try {
    // Piece i is held by: 0..3 -> A, B, C; 4..7 -> A, B; 8..15 -> A only.
    const base = { data: s.data, meta: s.meta };
    const a = new FakeSource({ ...base, id: 'A' });
    const b = new FakeSource({ ...base, id: 'B', holds: (i) => i < 8, delayMs: 400 });
    const c = new FakeSource({ ...base, id: 'C', holds: (i) => i < 4, delayMs: 400 });
    const dl = new Downloader(s.meta, s.store, s.have, options({}));
    for (const src of [a, b, c]) assert.equal(dl.addSource(src), true);
    await dl.run();
    await assertStoreEquals(s);
    const order = pieceOrder(a);
    assert.deepEqual(order.slice(0, 8).sort((x, y) => x - y), [8, 9, 10, 11, 12, 13, 14, 15], `A's first pieces: ${order.join(',')}`);
    assert.ok(order[8]! >= 4 && order[8]! < 8, `A's 9th piece (${order[8]}) is one only two sources hold: ${order.join(',')}`);
    const firstB = pieceOrder(b)[0]!;
    assert.ok(firstB >= 4 && firstB < 8, `B's first piece (${firstB}) is one C does not hold`);
    const firstC = pieceOrder(c)[0]!;
    assert.ok(firstC < 4, `C's first piece (${firstC}) is one it holds`);
  } finally {
    await s.remove();
  }
});

test('rarest first is random among equals (peers that start together spread out)', async () => {
  const s = await setup(32, 16 * 1024);
  try {
    const firsts = new Set<number>();
    for (let k = 0; k < 20; k++) {
      const src = new FakeSource({ id: `S${k}`, data: s.data, meta: s.meta, mode: 'stall' });
      const dl = new Downloader(s.meta, s.store, new Bitfield(s.meta.pieceCount), options({}));
      dl.addSource(src);
      while (src.calls.length === 0) await sleep(1);
      firsts.add(src.calls[0]!.piece);
      dl.abort(new Error('enough'));
      await dl.run().catch(() => {});
    }
    assert.ok(firsts.size >= 3, `20 fresh downloads all started on pieces ${[...firsts].join(',')}`);
  } finally {
    await s.remove();
  }
});

test('a stalled source: endgame duplicates its pieces to an honest one, the stalled fetches are aborted, done', async () => {
  const s = await setup(12, 16 * 1024);
  try {
    const stalled = new FakeSource({ id: 'stalled', data: s.data, meta: s.meta, mode: 'stall', maxInFlight: 2 });
    const honest = new FakeSource({ id: 'honest', data: s.data, meta: s.meta, maxInFlight: 2, delayMs: 5 });
    const pieceFrom = new Map<number, string>();
    const abortedAfterPiece: number[] = [];
    stalled.onAbort = (c) => {
      if (pieceFrom.has(c.piece)) abortedAfterPiece.push(c.piece);
    };
    const dropped: string[] = [];
    const dl = new Downloader(s.meta, s.store, s.have, options({ stallTimeoutMs: 5000 }), {
      onPiece: (i, from) => pieceFrom.set(i, from.id),
      onSourceDropped: (src, reason) => dropped.push(`${src.id}: ${reason}`),
    });
    dl.addSource(stalled); // first, so that it takes pieces before the honest one starts
    dl.addSource(honest);
    const t0 = Date.now();
    await dl.run();
    assert.ok(Date.now() - t0 < 3000, 'done well before the stall timeout');
    await assertStoreEquals(s);
    const stalledPieces = pieceOrder(stalled);
    assert.ok(stalledPieces.length >= 2, 'the stalled source had pieces of its own');
    for (const p of stalledPieces) {
      assert.equal(pieceFrom.get(p), 'honest', `piece ${p} came from the honest source`);
      assert.ok(honest.calls.some((c) => c.piece === p), `piece ${p} was duplicated to the honest source`);
    }
    // An abort reaches the source through its signal's event: give the last one a moment under load.
    for (let i = 0; i < 100 && stalled.aborted.length < stalled.calls.length; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(stalled.aborted.length, stalled.calls.length, 'every stalled fetch was aborted');
    assert.deepEqual(abortedAfterPiece, [], 'the stalled fetch of a piece is aborted as soon as the honest copy is verified');
    assert.deepEqual(dropped, [], 'a slow source is not dropped for losing an endgame race');
  } finally {
    await s.remove();
  }
});

const PIECE = 16 * 1024;

/**
 * Download with one slow source of 8 slots; returns the most pieces whose blocks were being
 * fetched at once. One-block pieces, so the whole run takes well under the downloader's 1 s rate
 * window even on a loaded machine: the source's measured rate (which also bounds its slots) never
 * comes into it, only slow start and the byte budget.
 */
async function peakPiecesInFlight(budgetBytes: number): Promise<number> {
  const s = await setup(8, PIECE);
  try {
    const src = new FakeSource({ id: 'slow', data: s.data, meta: s.meta, maxBlock: 16 * 1024, maxInFlight: 8, delayMs: 15 });
    const active = new Set<number>();
    let peak = 0;
    src.onStart = (c) => {
      if (c.begin === 0) active.add(c.piece);
      peak = Math.max(peak, active.size);
    };
    src.onSettle = (c) => {
      if (c.begin + c.length === pieceSize(s.meta, c.piece)) active.delete(c.piece);
    };
    const dl = new Downloader(s.meta, s.store, s.have, options({ budgetBytes }));
    dl.addSource(src);
    await dl.run();
    await assertStoreEquals(s);
    return peak;
  } finally {
    await s.remove();
  }
}

test('byte budget: with room for 2 pieces, at most 2 pieces are fetched at once (more otherwise)', async () => {
  assert.equal(await peakPiecesInFlight(2 * PIECE), 2);
  // Control: without the bound, the 8 slots (opening one by one as pieces arrive: slow start)
  // have well over 2 pieces in flight.
  const unbounded = await peakPiecesInFlight(64 * 1024 * 1024);
  assert.ok(unbounded >= 4, `without the bound, ${unbounded} pieces at most were in flight at once`);
  // A budget smaller than one piece still lets one piece through at a time.
  assert.equal(await peakPiecesInFlight(1000), 1);
});

test('stall timeout: no sources at all -> run() rejects with "no progress"', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    let starved = 0;
    const dl = new Downloader(s.meta, s.store, s.have, options({ stallTimeoutMs: 300 }), { onStarved: () => starved++ });
    const t0 = Date.now();
    await assert.rejects(dl.run(), (e: Error) => e instanceof DownloadError && /no progress/.test(e.message) && /no peer/.test(e.message));
    const took = Date.now() - t0;
    assert.ok(took >= 250 && took < 2000, `rejected after ${took} ms`);
    assert.equal(starved, 0);
  } finally {
    await s.remove();
  }
});

test('stall timeout: a source that never answers -> "no progress", and its fetches are aborted', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    const stalled = new FakeSource({ id: 'stalled', data: s.data, meta: s.meta, mode: 'stall', maxInFlight: 2 });
    const dl = new Downloader(s.meta, s.store, s.have, options({ stallTimeoutMs: 300 }));
    dl.addSource(stalled);
    await assert.rejects(dl.run(), /no progress/);
    assert.ok(stalled.calls.length >= 2, `the stalled source was asked ${stalled.calls.length} times`);
    assert.equal(stalled.aborted.length, stalled.calls.length, 'every fetch was aborted');
    assert.deepEqual(stalled.closes, [false], 'closed once, not as a liar');
  } finally {
    await s.remove();
  }
});

test('every piece already held: run() resolves at once, no source needed or taken', async () => {
  const s = await setup(3, 16 * 1024);
  try {
    const have = Bitfield.full(s.meta.pieceCount);
    const dl = new Downloader(s.meta, s.store, have, options({ stallTimeoutMs: 100 }));
    await dl.run();
    assert.equal(dl.bytesLeft, 0);
    assert.equal(dl.addSource(new FakeSource({ id: 'x', data: s.data, meta: s.meta })), false);
  } finally {
    await s.remove();
  }
});
