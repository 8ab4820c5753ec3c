/**
 * The download scheduler (src/download/downloader.ts) with fake in-process PieceSources: rarest
 * first, liars banned by address (IPv4 /32, IPv6 /64) whatever id they come back with, a piece
 * never given up while an honest source has it, per-address and total source limits, stalled
 * and trickling sources beaten by endgame, the byte budget, the stall timeout. Real PieceStores
 * on temp folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Downloader, DownloadError, DEFAULT_DOWNLOADER_OPTIONS, type DownloaderEvents, type DownloaderOptions } from '../src/download/downloader.ts';
import type { PieceSource } from '../src/download/source.ts';
import { Bitfield } from '../src/bittorrent/bitfield.ts';
import { pieceSize, type Metainfo } from '../src/metainfo/metainfo.ts';
import { PieceStore } from '../src/storage/piece-store.ts';
import { storageFiles } from '../src/storage/layout.ts';
import { tempDir } from './support/procs.ts';
import { addressPrefix, normalizeAddress } from '../src/bittorrent/address.ts';

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
  /** Its remote address (default: a host name of its own, `<id>.test`). */
  address?: string;
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
  readonly address: string;
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
    this.address = o.address ?? `${o.id}.test`;
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

/**
 * A source that trickles: each block request gets one byte every `everyMs` (through
 * fetchBlockInto's onData, as a real transport reports them) and never completes.
 */
class TrickleSource implements PieceSource {
  readonly label: string;
  readonly maxBlock: number;
  readonly maxInFlight = 2;
  readonly requested: number[] = [];
  aborted = 0;

  constructor(
    readonly id: string,
    readonly address: string,
    private readonly meta: Metainfo,
    private readonly holds: (piece: number) => boolean,
    private readonly everyMs = 50,
  ) {
    this.label = id;
    this.maxBlock = meta.pieceLength;
  }

  async connect(): Promise<void> {}

  has(piece: number): boolean {
    return this.holds(piece);
  }

  fetchBlock(): Promise<Buffer> {
    throw new Error('fetchBlockInto is used');
  }

  fetchBlockInto(piece: number, _begin: number, into: Buffer, signal: AbortSignal, onData?: (offset: number, length: number) => void): Promise<void> {
    this.requested.push(piece);
    return new Promise((_resolve, reject) => {
      let at = 0;
      const timer = setInterval(() => {
        if (at < into.length - 1) onData?.(at++, 1); // never the last byte
      }, this.everyMs);
      signal.addEventListener(
        'abort',
        () => {
          clearInterval(timer);
          this.aborted++;
          reject(new Error('aborted'));
        },
        { once: true },
      );
    });
  }

  close(): void {}
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

async function assertPieceEquals(s: Setup, piece: number): Promise<void> {
  const at = piece * s.meta.pieceLength;
  const size = pieceSize(s.meta, piece);
  assert.ok((await s.store.read(at, size)).equals(s.data.subarray(at, at + size)), `piece ${piece} on disk equals the original`);
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

test('a lying source is banned at its first bad piece, by address: a new id or port from there is refused; data exact', async () => {
  const s = await setup(16, 16 * 1024, 5000);
  try {
    const liar = new FakeSource({ id: 'liar', address: '10.0.0.66', data: s.data, meta: s.meta, mode: 'corrupt', maxInFlight: 2 });
    const honest = new FakeSource({ id: 'honest', address: '10.0.0.1', data: s.data, meta: s.meta, maxInFlight: 2, delayMs: 20 });
    const failed: Array<{ piece: number; from: string[] }> = [];
    const dropped: Array<{ id: string; reason: string; banned: boolean; failuresSoFar: number; readdAccepted: boolean; newIdAccepted: boolean }> = [];
    let dl!: Downloader;
    const events: DownloaderEvents = {
      onPieceFailed: (piece, from) => failed.push({ piece, from: from.map((x) => x.id) }),
      onSourceDropped: (src, reason, banned) =>
        dropped.push({
          id: src.id,
          reason,
          banned,
          failuresSoFar: failed.length,
          // The same peer again (say, it reconnected), or with a new peer_id and port: refused.
          readdAccepted: dl.addSource(new FakeSource({ id: 'liar', address: '10.0.0.66', data: s.data, meta: s.meta })),
          newIdAccepted: dl.addSource(new FakeSource({ id: 'liar-new-id', address: '::ffff:10.0.0.66', data: s.data, meta: s.meta })),
        }),
    };
    dl = new Downloader(s.meta, s.store, s.have, options({}), events);
    dl.addSource(liar);
    dl.addSource(honest);
    await dl.run();
    await assertStoreEquals(s);
    assert.equal(dropped.length, 1, JSON.stringify(dropped));
    const d = dropped[0]!;
    assert.equal(d.id, 'liar');
    assert.equal(d.banned, true);
    assert.match(d.reason, /failed its SHA-1 check \(10\.0\.0\.66 banned\)/);
    assert.equal(d.failuresSoFar, 1, 'banned at its first bad piece');
    assert.equal(d.readdAccepted, false, 'a banned address cannot be added again');
    assert.equal(d.newIdAccepted, false, 'not even under a new id (IPv4-mapped form)');
    assert.ok(failed.every((f) => f.from.length === 1 && f.from[0] === 'liar'), 'only the liar was blamed');
    assert.deepEqual(liar.closes, [true], 'the liar was closed as dropped');
    assert.deepEqual(dl.contributions().get('liar'), { pieces: 0, bytes: 0 });
    assert.deepEqual(dl.contributions().get('honest'), { pieces: s.meta.pieceCount, bytes: s.meta.length });
    assert.equal(dl.hasSource('liar'), false);
    assert.equal(dl.isBanned('10.0.0.66'), true);
    assert.equal(dl.isBanned('10.0.0.1'), false);
    for (const f of failed) assert.ok(honest.calls.some((c) => c.piece === f.piece), `piece ${f.piece} refetched`);
  } finally {
    await s.remove();
  }
});

test('addressPrefix: IPv4 by /32, IPv6 by /64 (any spelling), host names as themselves', () => {
  assert.equal(addressPrefix('10.1.2.3'), '10.1.2.3');
  assert.equal(addressPrefix('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(addressPrefix('2001:db8:1:2::5'), '2001:db8:1:2::/64');
  assert.equal(addressPrefix('2001:0DB8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
  assert.equal(addressPrefix('[2001:db8:1:2::1]'), '2001:db8:1:2::/64');
  assert.equal(addressPrefix('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressPrefix('::1'), '0:0:0:0::/64');
  assert.equal(addressPrefix('64:ff9b::10.1.2.3'), '64:ff9b:0:0::/64');
  assert.equal(addressPrefix('2001:db8::1:2:3:4'), '2001:db8:0:0::/64');
  assert.notEqual(addressPrefix('2001:db8:1:2::5'), addressPrefix('2001:db8:1:3::5'));
  assert.equal(addressPrefix('Seed.Example.ORG'), 'seed.example.org');
  assert.equal(normalizeAddress('::FFFF:127.0.0.2'), '127.0.0.2');
});

test('an IPv6 liar is banned by its /64: another address in it is refused, the next /64 is not', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    for (const i of [0, 1, 3]) s.have.set(i);
    const liar = new FakeSource({ id: 'liar6', address: '2001:db8:1:2::5', data: s.data, meta: s.meta, mode: 'corrupt' });
    let banned!: () => void;
    const wasBanned = new Promise<void>((r) => (banned = r));
    const dl = new Downloader(s.meta, s.store, s.have, options({}), { onSourceDropped: (_src, _r, b) => b && banned() });
    dl.addSource(liar);
    await wasBanned;
    assert.match(dl.refusal('2001:db8:1:2:ffff:ffff:ffff:9') ?? '', /2001:db8:1:2::\/64 is banned/);
    assert.equal(dl.addSource(new FakeSource({ id: 'same-64', address: '2001:db8:1:2:ffff::9', data: s.data, meta: s.meta })), false);
    assert.equal(dl.addSource(new FakeSource({ id: 'next-64', address: '2001:db8:1:3::5', data: s.data, meta: s.meta })), true);
    await dl.run();
    await assertPieceEquals(s, 2);
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

test('a piece every source so far lied about is not given up: an honest source added later completes it', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    for (const i of [0, 1, 3]) s.have.set(i); // only piece 2 is missing
    // Ten liars, each at its own address (a fresh peer_id alone would not get back in).
    const liars = Array.from({ length: 10 }, (_, k) => new FakeSource({ id: `liar${k}`, address: `10.0.1.${k}`, data: s.data, meta: s.meta, mode: 'corrupt' }));
    const failed: Array<{ piece: number; from: string[] }> = [];
    const banned: string[] = [];
    let allBanned!: () => void;
    const done = new Promise<void>((r) => (allBanned = r));
    const dl = new Downloader(s.meta, s.store, s.have, options({ idleRecheckMs: 20 }), {
      onPieceFailed: (piece, from) => failed.push({ piece, from: from.map((x) => x.id) }),
      onSourceDropped: (src, _reason, b) => {
        if (b) banned.push(src.id);
        if (banned.length === liars.length) allBanned();
      },
    });
    for (const l of liars) dl.addSource(l);
    await done;
    await sleep(50);
    assert.equal(failed.length, 10, 'each liar failed the piece once');
    assert.ok(failed.every((f) => f.piece === 2));
    assert.deepEqual(new Set(banned), new Set(liars.map((l) => l.id)));
    assert.equal(s.have.has(2), false);
    // Still running: an honest source that turns up now finishes it.
    assert.equal(dl.addSource(new FakeSource({ id: 'honest', address: '10.0.2.1', data: s.data, meta: s.meta })), true);
    await dl.run();
    await assertPieceEquals(s, 2);
  } finally {
    await s.remove();
  }
});

test('only liars: the stall timeout ends the download, naming the piece every source failed', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    for (const i of [0, 1, 3]) s.have.set(i);
    const dl = new Downloader(s.meta, s.store, s.have, options({ stallTimeoutMs: 400 }));
    for (let k = 0; k < 3; k++) dl.addSource(new FakeSource({ id: `liar${k}`, address: `10.0.3.${k}`, data: s.data, meta: s.meta, mode: 'corrupt' }));
    await assert.rejects(dl.run(), (e: Error) => {
      assert.ok(e instanceof DownloadError);
      assert.match(e.message, /no progress/);
      assert.match(e.message, /piece 2 failed its SHA-1 check from every peer that had it: 10\.0\.3\.\d, 10\.0\.3\.\d, 10\.0\.3\.\d banned/);
      return true;
    });
  } finally {
    await s.remove();
  }
});

test('source limits: at most maxSourcesPerAddress per address prefix and maxSources in all; a dropped one frees its place', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    const dl = new Downloader(s.meta, s.store, s.have, options({ maxSourcesPerAddress: 2, maxSources: 4 }));
    const src = (id: string, address: string, mode: Mode = 'stall') => new FakeSource({ id, address, data: s.data, meta: s.meta, mode });
    assert.equal(dl.addSource(src('a1', '10.0.4.1')), true);
    assert.equal(dl.addSource(src('a2', '::ffff:10.0.4.1')), true);
    assert.equal(dl.addSource(src('a3', '10.0.4.1')), false, 'a third source at one address');
    assert.match(dl.refusal('10.0.4.1') ?? '', /already 2 sources at 10\.0\.4\.1/);
    assert.equal(dl.addSource(src('b1', '2001:db8::1')), true);
    assert.equal(dl.addSource(src('b2', '2001:db8::2')), true);
    assert.equal(dl.addSource(src('b3', '2001:db8::3')), false, 'a third source in one /64');
    assert.equal(dl.addSource(src('c1', '10.0.4.3')), false, 'maxSources reached');
    assert.match(dl.refusal('10.0.4.3') ?? '', /already 4 sources/);
    assert.equal(dl.activeSources, 4);
    dl.abort(new Error('enough'));
    await dl.run().catch(() => {});
    // A source that fails is dropped (not banned): its place is free again.
    let dropped!: () => void;
    const wasDropped = new Promise<void>((r) => (dropped = r));
    const dl2 = new Downloader(s.meta, s.store, new Bitfield(s.meta.pieceCount), options({ maxSourcesPerAddress: 1, maxConsecutiveErrors: 1 }), { onSourceDropped: () => dropped() });
    assert.equal(dl2.addSource(src('e1', '10.0.4.5', 'error')), true);
    assert.equal(dl2.addSource(src('e2', '10.0.4.5')), false);
    await wasDropped;
    assert.equal(dl2.addSource(src('e2', '10.0.4.5', 'honest')), true, 'the dropped source freed its place');
    await dl2.run();
  } finally {
    await s.remove();
  }
});

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
    assert.ok(trickler.aborted >= 1);
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

test('addSource: a banned address is ignored afterwards; a merely dropped source may come back', async () => {
  const s = await setup(8, 16 * 1024);
  try {
    const liar = new FakeSource({ id: 'liar', data: s.data, meta: s.meta, mode: 'corrupt' });
    const broken = new FakeSource({ id: 'flaky', data: s.data, meta: s.meta, connectError: 'connection refused' });
    const erring = new FakeSource({ id: 'erring', data: s.data, meta: s.meta, mode: 'error' });
    const drops: Array<[string, boolean, string]> = [];
    let firstDrops!: () => void;
    const allDropped = new Promise<void>((r) => (firstDrops = r));
    const dl = new Downloader(s.meta, s.store, s.have, options({ maxConsecutiveErrors: 3 }), {
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
    assert.equal(dl.addSource(new FakeSource({ id: 'liar', data: s.data, meta: s.meta })), false, 'the banned address stays out, even honest-looking');
    assert.equal(dl.addSource(new FakeSource({ id: 'liar-again', address: 'liar.test', data: s.data, meta: s.meta })), false, 'under any id');
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
