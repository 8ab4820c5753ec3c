/**
 * The download scheduler (src/download/downloader.ts) with fake in-process PieceSources: rarest
 * first, liars banned, stalled sources beaten by endgame, repeated hash failures, the byte budget,
 * the stall timeout, and banned ids staying out. Real PieceStores on temp folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Downloader, DownloadError, DEFAULT_DOWNLOADER_OPTIONS, type DownloaderEvents, type DownloaderOptions } from '../src/download/downloader.ts';
import type { PieceSource } from '../src/download/source.ts';
import { Bitfield } from '../src/peer/bitfield.ts';
import { pieceSize, type Metainfo } from '../src/metainfo/metainfo.ts';
import { PieceStore } from '../src/storage/piece-store.ts';
import { storageFiles } from '../src/storage/layout.ts';
import { tempDir } from './support/procs.ts';

// ------------------------------------------------------------------------------------ helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A single-file Metainfo for `data`, built by hand (no .torrent needed). */
function makeMeta(data: Buffer, pieceLength: number): Metainfo {
  const pieceCount = Math.ceil(data.length / pieceLength);
  const hashes: Buffer[] = [];
  for (let i = 0; i < pieceCount; i++) hashes.push(createHash('sha1').update(data.subarray(i * pieceLength, (i + 1) * pieceLength)).digest());
  const infoHash = randomBytes(20);
  return {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    announce: undefined,
    announceList: [],
    urlList: [],
    name: 'data.bin',
    pieceLength,
    pieceCount,
    pieces: Buffer.concat(hashes),
    length: data.length,
    multiFile: false,
    files: [{ path: [], length: data.length, offset: 0, pad: false }],
    private: false,
    rawInfo: Buffer.alloc(0),
  };
}

type Mode = 'honest' | 'corrupt' | 'stall' | 'error';

interface FakeOptions {
  id: string;
  data: Buffer;
  meta: Metainfo;
  mode?: Mode;
  holds?: (piece: number) => boolean;
  maxBlock?: number;
  maxInFlight?: number;
  blocksPerPiece?: number;
  /** Delay before a block is answered (0: next turn of the event loop). */
  delayMs?: number;
  connectError?: string;
}

interface Call {
  piece: number;
  begin: number;
  length: number;
  at: number;
}

/** A PieceSource in memory: serves `data`, or lies, stalls or fails, and records every call. */
class FakeSource implements PieceSource {
  readonly id: string;
  readonly label: string;
  readonly maxBlock: number;
  readonly maxInFlight: number;
  readonly blocksPerPiece: number | undefined;
  readonly calls: Call[] = [];
  readonly aborted: Call[] = [];
  readonly closes: boolean[] = [];
  /** Called on every abort of one of its requests (for ordering checks). */
  onAbort: ((c: Call) => void) | undefined;
  /** Called when a block request starts and when it settles. */
  onStart: ((c: Call) => void) | undefined;
  onSettle: ((c: Call) => void) | undefined;
  private readonly mode: Mode;

  constructor(private readonly o: FakeOptions) {
    this.id = o.id;
    this.label = o.id;
    this.mode = o.mode ?? 'honest';
    this.maxBlock = o.maxBlock ?? o.meta.pieceLength;
    this.maxInFlight = o.maxInFlight ?? 1;
    this.blocksPerPiece = o.blocksPerPiece;
  }

  async connect(): Promise<void> {
    if (this.o.connectError) throw new Error(this.o.connectError);
  }

  has(piece: number): boolean {
    return piece >= 0 && piece < this.o.meta.pieceCount && (this.o.holds ? this.o.holds(piece) : true);
  }

  fetchBlock(piece: number, begin: number, length: number, signal: AbortSignal): Promise<Buffer> {
    const call: Call = { piece, begin, length, at: Date.now() };
    this.calls.push(call);
    this.onStart?.(call);
    return new Promise<Buffer>((resolve, reject) => {
      let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
      const abort = () => {
        if (timer) {
          clearTimeout(timer as NodeJS.Timeout);
          clearImmediate(timer as NodeJS.Immediate);
        }
        this.aborted.push(call);
        this.onAbort?.(call);
        this.onSettle?.(call);
        reject(new Error('aborted'));
      };
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      if (this.mode === 'stall') return; // until aborted
      const answer = () => {
        signal.removeEventListener('abort', abort);
        this.onSettle?.(call);
        if (this.mode === 'error') return reject(new Error(`${this.id} failed`));
        const at = piece * this.o.meta.pieceLength + begin;
        const block = Buffer.from(this.o.data.subarray(at, at + length));
        if (this.mode === 'corrupt') block[block.length >> 1] = block[block.length >> 1]! ^ 0x5a;
        resolve(block);
      };
      timer = this.o.delayMs ? setTimeout(answer, this.o.delayMs) : setImmediate(answer);
    });
  }

  close(dropped?: boolean): void {
    this.closes.push(!!dropped);
  }
}

interface Setup {
  data: Buffer;
  meta: Metainfo;
  store: PieceStore;
  have: Bitfield;
  remove(): Promise<void>;
}

async function setup(pieces: number, pieceLength: number, lastPiece = pieceLength): Promise<Setup> {
  const data = randomBytes((pieces - 1) * pieceLength + lastPiece);
  const meta = makeMeta(data, pieceLength);
  const { dir, remove } = await tempDir('downloader-test-');
  const store = await PieceStore.openForWriting(storageFiles(meta, dir, '.part'));
  return {
    data,
    meta,
    store,
    have: new Bitfield(meta.pieceCount),
    async remove() {
      await store.close();
      await remove();
    },
  };
}

function options(o: Partial<DownloaderOptions>): DownloaderOptions {
  return { ...DEFAULT_DOWNLOADER_OPTIONS, stallTimeoutMs: 5000, idleRecheckMs: 100, ...o };
}

async function assertStoreEquals(s: Setup): Promise<void> {
  const got = await s.store.read(0, s.meta.length);
  assert.ok(got.equals(s.data), 'the bytes on disk equal the original');
}

/** Distinct pieces in the order of their first fetchBlock call. */
function pieceOrder(src: FakeSource): number[] {
  const seen: number[] = [];
  for (const c of src.calls) if (!seen.includes(c.piece)) seen.push(c.piece);
  return seen;
}

// ------------------------------------------------------------------------------------- tests

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
    assert.ok(firstC < 4);
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

test('a lying source is banned after 3 bad pieces; its pieces come from an honest one; data exact', async () => {
  const s = await setup(16, 16 * 1024, 5000);
  try {
    const liar = new FakeSource({ id: 'liar', data: s.data, meta: s.meta, mode: 'corrupt', maxInFlight: 2 });
    const honest = new FakeSource({ id: 'honest', data: s.data, meta: s.meta, maxInFlight: 2, delayMs: 20 });
    const failed: Array<{ piece: number; from: string[] }> = [];
    const dropped: Array<{ id: string; reason: string; banned: boolean; liarFailuresSoFar: number; readdAccepted: boolean }> = [];
    let dl!: Downloader;
    const events: DownloaderEvents = {
      onPieceFailed: (piece, from) => failed.push({ piece, from: from.map((x) => x.id) }),
      onSourceDropped: (src, reason, banned) =>
        dropped.push({
          id: src.id,
          reason,
          banned,
          liarFailuresSoFar: failed.filter((f) => f.from.includes('liar')).length,
          // The same peer again (say, it reconnected): refused.
          readdAccepted: dl.addSource(new FakeSource({ id: 'liar', data: s.data, meta: s.meta })),
        }),
    };
    dl = new Downloader(s.meta, s.store, s.have, options({ maxBadPiecesPerSource: 3, maxPieceFailures: 5 }), events);
    dl.addSource(liar);
    dl.addSource(honest);
    await dl.run();
    await assertStoreEquals(s);
    assert.equal(dropped.length, 1, JSON.stringify(dropped));
    const d = dropped[0]!;
    assert.equal(d.id, 'liar');
    assert.equal(d.banned, true);
    assert.match(d.reason, /3 pieces/);
    assert.equal(d.liarFailuresSoFar, 3, 'banned at its 3rd bad piece');
    assert.equal(d.readdAccepted, false, 'a banned id cannot be added again');
    assert.ok(failed.every((f) => f.from.length === 1 && f.from[0] === 'liar'), 'only the liar was blamed');
    assert.deepEqual(liar.closes, [true], 'the liar was closed as dropped');
    assert.deepEqual(dl.contributions().get('liar'), { pieces: 0, bytes: 0 });
    assert.deepEqual(dl.contributions().get('honest'), { pieces: s.meta.pieceCount, bytes: s.meta.length });
    assert.equal(dl.hasSource('liar'), false);
    // Every piece the liar spoiled was fetched again from the honest source.
    for (const f of failed) assert.ok(honest.calls.some((c) => c.piece === f.piece), `piece ${f.piece} refetched`);
    assert.equal(dl.addSource(new FakeSource({ id: 'liar', data: s.data, meta: s.meta })), false);
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
    assert.equal(stalled.aborted.length, stalled.calls.length, 'every stalled fetch was aborted');
    assert.deepEqual(abortedAfterPiece, [], 'the stalled fetch of a piece is aborted as soon as the honest copy is verified');
    assert.deepEqual(dropped, [], 'a slow source is not dropped for losing an endgame race');
  } finally {
    await s.remove();
  }
});

test('a piece failing maxPieceFailures times from different liars: run() rejects with a DownloadError naming it', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    for (const i of [0, 1, 3]) s.have.set(i); // only piece 2 is missing
    const liars = Array.from({ length: 5 }, (_, k) => new FakeSource({ id: `liar${k}`, data: s.data, meta: s.meta, mode: 'corrupt' }));
    const failed: Array<{ piece: number; from: string[] }> = [];
    const banned: string[] = [];
    const dl = new Downloader(s.meta, s.store, s.have, options({ maxPieceFailures: 5, maxBadPiecesPerSource: 1, idleRecheckMs: 20 }), {
      onPieceFailed: (piece, from) => failed.push({ piece, from: from.map((x) => x.id) }),
      onSourceDropped: (src, _reason, b) => b && banned.push(src.id),
    });
    for (const l of liars) dl.addSource(l);
    const t0 = Date.now();
    await assert.rejects(dl.run(), (e: Error) => {
      assert.ok(e instanceof DownloadError, `a DownloadError, got ${e.constructor.name}`);
      assert.match(e.message, /piece 2\b/);
      assert.match(e.message, /5 times/);
      return true;
    });
    assert.ok(Date.now() - t0 < 3000, 'rejected at the 5th failure, not by the stall timeout');
    assert.equal(failed.length, 5);
    assert.ok(failed.every((f) => f.piece === 2));
    const blamed = failed.flatMap((f) => f.from);
    assert.equal(new Set(blamed).size, 5, `five different liars: ${blamed.join(',')}`);
    assert.deepEqual(new Set(banned), new Set(liars.map((l) => l.id)));
    assert.equal(s.have.has(2), false);
  } finally {
    await s.remove();
  }
});

/** Download with one slow source of 8 slots; returns the most pieces whose blocks were being fetched at once. */
async function peakPiecesInFlight(budgetBytes: number): Promise<number> {
  const s = await setup(8, 64 * 1024);
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
  assert.equal(await peakPiecesInFlight(2 * 64 * 1024), 2);
  // Control: without the bound, the 8 slots (opening one by one as pieces arrive: slow start)
  // have well over 2 pieces in flight.
  assert.ok((await peakPiecesInFlight(64 * 1024 * 1024)) >= 4);
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
    assert.ok(stalled.calls.length >= 2);
    assert.equal(stalled.aborted.length, stalled.calls.length, 'every fetch was aborted');
    assert.deepEqual(stalled.closes, [false], 'closed once, not as a liar');
  } finally {
    await s.remove();
  }
});

test('addSource: a banned id is ignored afterwards; a merely dropped one may come back', async () => {
  const s = await setup(8, 16 * 1024);
  try {
    const liar = new FakeSource({ id: 'liar', data: s.data, meta: s.meta, mode: 'corrupt' });
    const broken = new FakeSource({ id: 'flaky', data: s.data, meta: s.meta, connectError: 'connection refused' });
    const erring = new FakeSource({ id: 'erring', data: s.data, meta: s.meta, mode: 'error' });
    const drops: Array<[string, boolean, string]> = [];
    let firstDrops!: () => void;
    const allDropped = new Promise<void>((r) => (firstDrops = r));
    const dl = new Downloader(s.meta, s.store, s.have, options({ maxBadPiecesPerSource: 3, maxConsecutiveErrors: 3, maxPieceFailures: 100 }), {
      onSourceDropped: (src, reason, banned) => {
        drops.push([src.id, banned, reason]);
        if (drops.length === 3) firstDrops();
      },
    });
    assert.equal(dl.addSource(liar), true);
    assert.equal(dl.addSource(broken), true);
    assert.equal(dl.addSource(erring), true);
    assert.equal(dl.addSource(new FakeSource({ id: 'liar', data: s.data, meta: s.meta })), false, 'already in use');
    await allDropped;
    const byId = new Map(drops.map(([id, banned, reason]) => [id, { banned, reason }]));
    assert.equal(byId.get('liar')?.banned, true);
    assert.equal(byId.get('flaky')?.banned, false);
    assert.match(byId.get('flaky')!.reason, /connection refused/);
    assert.equal(byId.get('erring')?.banned, false);
    assert.match(byId.get('erring')!.reason, /erring failed/);
    // Now, with the download still going (nobody honest yet):
    assert.equal(dl.addSource(new FakeSource({ id: 'liar', data: s.data, meta: s.meta })), false, 'the banned id stays out, even honest-looking');
    assert.equal(dl.hasSource('liar'), false);
    assert.equal(dl.addSource(new FakeSource({ id: 'erring', data: s.data, meta: s.meta })), true, 'a dropped (not banned) id may come back');
    assert.equal(dl.addSource(new FakeSource({ id: 'flaky', data: s.data, meta: s.meta })), true);
    await dl.run();
    await assertStoreEquals(s);
    assert.equal(dl.addSource(new FakeSource({ id: 'late', data: s.data, meta: s.meta })), false, 'nothing is added once finished');
    assert.deepEqual(dl.contributions().get('liar'), { pieces: 0, bytes: 0 });
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
