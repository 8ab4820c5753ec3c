/**
 * The download scheduler: which piece from which source, bounded memory, SHA-1 checks, and what
 * to do with a source that fails, stalls or lies.
 *
 * Each source gets `maxInFlight` worker slots; a slot takes a piece the source holds that no one
 * else is fetching (rarest first; among equals, runs of consecutive pieces from random places,
 * so peers that start together spread out), fetches it block by block into a buffer from a fixed
 * pool (whose size bounds the pieces in memory), hashes it as it arrives, verifies the SHA-1,
 * writes it, and only then marks it held and returns the buffer. When every missing piece is already being
 * fetched (endgame), idle slots fetch the same pieces too; the first verified copy wins and the
 * other requests are cancelled. A piece that fails its hash is traced to every source that
 * supplied one of its blocks; a source in 3 failed pieces is dropped for good.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { pieceHash, pieceSize, type Metainfo } from '../metainfo/metainfo.ts';
import type { PieceStore } from '../storage/piece-store.ts';
import type { Bitfield } from '../peer/bitfield.ts';
import { SourceBusyError, type PieceSource } from './source.ts';
import { PiecePool } from './piece-pool.ts';

export interface DownloaderOptions {
  /**
   * Most bytes of pieces held in memory at once (at least one piece is always allowed): that many
   * piece buffers at most are allocated, and reused from piece to piece.
   */
  budgetBytes: number;
  /** A piece failing its hash this many times ends the download. */
  maxPieceFailures: number;
  /** A source that supplied blocks of this many failed pieces is dropped and not used again. */
  maxBadPiecesPerSource: number;
  /** A source failing this many requests in a row is dropped (it may be added again later). */
  maxConsecutiveErrors: number;
  /** Give up when no piece has completed for this long. */
  stallTimeoutMs: number;
  /** How long an idle slot waits before asking its source again what it holds. */
  idleRecheckMs: number;
}

export const DEFAULT_DOWNLOADER_OPTIONS: DownloaderOptions = {
  budgetBytes: 32 * 1024 * 1024,
  maxPieceFailures: 5,
  maxBadPiecesPerSource: 3,
  maxConsecutiveErrors: 3,
  stallTimeoutMs: 60_000,
  idleRecheckMs: 1000,
};

export interface DownloaderEvents {
  onPiece?(index: number, from: PieceSource): void;
  onPieceFailed?(index: number, suppliers: PieceSource[]): void;
  onSourceDropped?(source: PieceSource, reason: string, banned: boolean): void;
  /** No usable source is left (a good moment to ask the tracker for more). */
  onStarved?(): void;
}

interface SourceState {
  source: PieceSource;
  controller: AbortController;
  badPieces: number;
  errors: number;
  dropped: boolean;
  /** Bytes and count of verified pieces this source supplied. */
  bytes: number;
  pieces: number;
  /** The piece after this source's last pick (preferred among equally rare ones). */
  cursor: number;
  /** Delivery rate (bytes/s) over the last completed window, Infinity until one completed. */
  rate: number;
  windowStart: number;
  windowBytes: number;
}

/** A source keeps in flight about what it delivers in this long (at least two pieces). */
const IN_FLIGHT_SECONDS = 0.25;
const RATE_WINDOW_MS = 1000;

/** One in-flight fetch of a piece by one source. */
interface Fetch {
  state: SourceState;
  controller: AbortController;
}

export class DownloadError extends Error {}

/** An AbortController whose signal may have many listeners (one per block request in flight). */
function unboundedController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

export class Downloader {
  private readonly sources = new Map<string, SourceState>();
  private readonly banned = new Set<string>();
  /** piece -> the fetches under way for it (more than one only in endgame). */
  private readonly inProgress = new Map<number, Set<Fetch>>();
  private readonly failures = new Map<number, number>();
  /** Verified pieces being written: not yet held (not served), but no longer to be fetched. */
  private readonly writing = new Set<number>();
  private readonly pool: PiecePool;
  private wakers: Array<() => void> = [];
  private finished = false;
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  private readonly done: Promise<void>;
  private stallTimer: NodeJS.Timeout | undefined;
  private missing: number;
  /** Verified bytes fetched from sources (for the tracker's `downloaded`). */
  downloadedBytes = 0;

  constructor(
    private readonly meta: Metainfo,
    private readonly store: PieceStore,
    readonly have: Bitfield,
    private readonly opts: DownloaderOptions = DEFAULT_DOWNLOADER_OPTIONS,
    private readonly events: DownloaderEvents = {},
  ) {
    this.pool = new PiecePool(meta.pieceLength, opts.budgetBytes);
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {}); // observed through run()
    this.missing = 0;
    for (let i = 0; i < meta.pieceCount; i++) if (!have.has(i)) this.missing += pieceSize(meta, i);
    if (have.complete) this.finish();
    else this.armStallTimer();
  }

  /** Resolves when every piece is held and written; rejects on a fatal error. */
  run(): Promise<void> {
    return this.done;
  }

  get bytesLeft(): number {
    return this.missing;
  }

  get activeSources(): number {
    let n = 0;
    for (const s of this.sources.values()) if (!s.dropped) n++;
    return n;
  }

  /** Verified pieces and bytes per source label (for reports and tests). */
  contributions(): Map<string, { pieces: number; bytes: number }> {
    const m = new Map<string, { pieces: number; bytes: number }>();
    for (const s of this.sources.values()) {
      const c = m.get(s.source.label) ?? { pieces: 0, bytes: 0 };
      m.set(s.source.label, { pieces: c.pieces + s.pieces, bytes: c.bytes + s.bytes });
    }
    return m;
  }

  /** Use `source` too (ignored if it is already in use or was banned as a liar). */
  addSource(source: PieceSource): boolean {
    if (this.finished || this.banned.has(source.id)) return false;
    const existing = this.sources.get(source.id);
    if (existing && !existing.dropped) return false;
    const state: SourceState = {
      source,
      controller: unboundedController(),
      badPieces: existing?.badPieces ?? 0,
      errors: 0,
      dropped: false,
      bytes: existing?.bytes ?? 0,
      pieces: existing?.pieces ?? 0,
      cursor: -1,
      rate: Infinity,
      windowStart: Date.now(),
      windowBytes: 0,
    };
    this.sources.set(source.id, state);
    void this.startSource(state);
    return true;
  }

  hasSource(id: string): boolean {
    const s = this.sources.get(id);
    return !!s && !s.dropped;
  }

  /** Stop everything; `run()` rejects with `error` unless already finished. */
  abort(error: Error): void {
    this.fail(error);
  }

  private async startSource(state: SourceState): Promise<void> {
    try {
      await state.source.connect(state.controller.signal);
    } catch (e) {
      this.drop(state, `could not connect: ${(e as Error).message}`, false);
      return;
    }
    this.wake(); // a new source can make pieces rarer or commoner for everyone
    const slots = Array.from({ length: Math.max(1, state.source.maxInFlight) }, (_, slot) => this.worker(state, slot));
    await Promise.all(slots);
  }

  /**
   * One slot of a source. Slow start: slots 0 and 1 work at once, slot k only once the source has
   * delivered k - 1 pieces, so the first peer to connect cannot take every piece of a small
   * torrent before the others (a few milliseconds behind) get any. And slot k only while k pieces
   * are what the source delivers in IN_FLIGHT_SECONDS: a slow (rate-capped, shared) source gets
   * few pieces at a time, so the pieces it is sending are soon visible to the swarm as held,
   * instead of many half-sent pieces that other requesters, not seeing them, ask it for again.
   */
  private async worker(state: SourceState, slot: number): Promise<void> {
    const pieceLength = this.meta.pieceLength;
    while (!this.finished && !state.dropped) {
      const warm = slot < 2 || (state.pieces >= slot - 1 && slot * pieceLength <= state.rate * IN_FLIGHT_SECONDS);
      const piece = !warm || state.source.ready?.() === false ? undefined : this.pick(state);
      if (piece === undefined) {
        // Nothing for this source now: wait for a change, then ask it again what it holds
        // (a peer that is itself downloading gains pieces as it goes).
        await this.waitForChange(this.opts.idleRecheckMs);
        if (!this.finished && !state.dropped && state.source.refresh) {
          await state.source.refresh(state.controller.signal).catch(() => {});
        }
        continue;
      }
      const fetch: Fetch = { state, controller: unboundedController() };
      const onAbort = () => fetch.controller.abort();
      state.controller.signal.addEventListener('abort', onAbort, { once: true });
      let fetches = this.inProgress.get(piece);
      if (!fetches) this.inProgress.set(piece, (fetches = new Set()));
      fetches.add(fetch);
      const size = pieceSize(this.meta, piece);
      try {
        // A buffer for the piece before its first request: the pool bounds pieces in flight.
        const pooled = await this.pool.acquire();
        if (!pooled) return;
        try {
          await this.fetchPiece(fetch, piece, pooled.subarray(0, size));
        } finally {
          this.pool.release(pooled);
        }
      } finally {
        state.controller.signal.removeEventListener('abort', onAbort);
        fetches.delete(fetch);
        if (fetches.size === 0) this.inProgress.delete(piece);
        this.wake();
      }
    }
  }

  /**
   * The next piece for `state`: among missing pieces it holds that nobody fetches, the rarest
   * (fewest live sources hold it); among equals, the one after its last pick, else a random one. If there is none but some missing
   * pieces are being fetched by one other source only, join that fetch (endgame).
   */
  private pick(state: SourceState): number | undefined {
    const live = [...this.sources.values()].filter((s) => !s.dropped);
    let best: number[] = [];
    let bestCount = Infinity;
    const endgame: number[] = [];
    for (let i = 0; i < this.meta.pieceCount; i++) {
      if (this.isDone(i) || !state.source.has(i)) continue;
      const fetches = this.inProgress.get(i);
      if (fetches) {
        if (fetches.size === 1 && ![...fetches].some((f) => f.state === state)) endgame.push(i);
        continue;
      }
      let count = 0;
      for (const s of live) if (s.source.has(i)) count++;
      if (count < bestCount) {
        bestCount = count;
        best = [i];
      } else if (count === bestCount) {
        best.push(i);
      }
    }
    if (best.length === 0) return endgame.length ? endgame[Math.floor(Math.random() * endgame.length)] : undefined;
    // Among equals: the piece right after this source's last one if it is among them, else a
    // random one. Runs of consecutive pieces land in order on disk (random writes into a large
    // file were the slowest part of a download), while random jumps keep requesters that start
    // together from asking a seeder for the same pieces.
    const next = best.includes(state.cursor) ? state.cursor : best[Math.floor(Math.random() * best.length)]!;
    state.cursor = next + 1;
    return next;
  }

  private async fetchPiece(fetch: Fetch, piece: number, buf: Buffer): Promise<void> {
    const { state } = fetch;
    const { source } = state;
    const size = buf.length;
    const suppliers = new Set<SourceState>();
    // SHA-1 as the bytes arrive, while they are in the cache: bytes that land in order are
    // hashed at once, the rest (blocks that came out of order) after the last block.
    const hash = createHash('sha1');
    let hashed = 0;
    const arrived = (offset: number, length: number) => {
      if (offset !== hashed) return;
      hash.update(buf.subarray(offset, offset + length));
      hashed += length;
    };
    // Blocks of the piece, requested `blocksPerPiece` at a time (pipelining for the wire protocol).
    const blocks: Array<{ begin: number; length: number }> = [];
    for (let begin = 0; begin < size; begin += source.maxBlock) blocks.push({ begin, length: Math.min(source.maxBlock, size - begin) });
    let next = 0;
    const lane = async () => {
      while (next < blocks.length) {
        const { begin, length } = blocks[next++]!;
        if (source.fetchBlockInto) {
          await source.fetchBlockInto(piece, begin, buf.subarray(begin, begin + length), fetch.controller.signal, (o, n) => arrived(begin + o, n));
        } else {
          const block = await source.fetchBlock(piece, begin, length, fetch.controller.signal);
          if (block.length !== length) throw new Error(`sent ${block.length} bytes for a ${length}-byte block`);
          block.copy(buf, begin);
          arrived(begin, length);
        }
        suppliers.add(state);
        if (this.isDone(piece)) throw new Error('piece already done'); // another source won (endgame)
      }
    };
    try {
      const lanes = Array.from({ length: Math.min(blocks.length, Math.max(1, source.blocksPerPiece ?? 1)) }, lane);
      const results = await Promise.allSettled(lanes);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        fetch.controller.abort(); // cancel the other lanes' requests
        throw failed.reason;
      }
      state.errors = 0;
    } catch (e) {
      if (this.finished || state.dropped || this.isDone(piece) || e instanceof SourceBusyError) return;
      if (++state.errors >= this.opts.maxConsecutiveErrors) this.drop(state, (e as Error).message, false);
      return;
    }
    if (this.finished || this.isDone(piece)) return;
    if (hashed < size) hash.update(buf.subarray(hashed));
    const ok = hash.digest().equals(pieceHash(this.meta, piece));
    if (!ok) {
      this.pieceFailed(piece, [...suppliers]);
      return;
    }
    // Claim the piece before the write, so an endgame twin cannot write it too; it counts as
    // held (and is served) only once the write completed.
    this.writing.add(piece);
    for (const other of this.inProgress.get(piece) ?? []) if (other !== fetch) other.controller.abort();
    try {
      await this.store.write(piece * this.meta.pieceLength, buf);
    } catch (e) {
      this.fail(new DownloadError(`cannot write to disk: ${(e as Error).message}`));
      return;
    }
    if (this.finished) return;
    this.have.set(piece);
    this.writing.delete(piece);
    this.missing -= size;
    this.downloadedBytes += size;
    state.bytes += size;
    state.pieces++;
    state.windowBytes += size;
    const now = Date.now();
    if (now - state.windowStart >= RATE_WINDOW_MS) {
      state.rate = (state.windowBytes * 1000) / (now - state.windowStart);
      state.windowStart = now;
      state.windowBytes = 0;
    }
    this.armStallTimer();
    this.events.onPiece?.(piece, state.source);
    if (this.missing === 0) this.finish();
  }

  private isDone(piece: number): boolean {
    return this.have.has(piece) || this.writing.has(piece);
  }

  private pieceFailed(piece: number, suppliers: SourceState[]): void {
    const n = (this.failures.get(piece) ?? 0) + 1;
    this.failures.set(piece, n);
    this.events.onPieceFailed?.(piece, suppliers.map((s) => s.source));
    for (const s of suppliers) {
      if (++s.badPieces >= this.opts.maxBadPiecesPerSource) this.drop(s, `sent ${s.badPieces} pieces that failed their SHA-1 check`, true);
    }
    if (n >= this.opts.maxPieceFailures) {
      this.fail(new DownloadError(`piece ${piece} failed its SHA-1 check ${n} times; giving up`));
    }
  }

  private drop(state: SourceState, reason: string, ban: boolean): void {
    if (ban) this.banned.add(state.source.id); // even if it was already dropped for errors
    if (state.dropped) return;
    state.dropped = true;
    state.controller.abort();
    state.source.close(true);
    this.events.onSourceDropped?.(state.source, reason, ban);
    this.wake();
    if (!this.finished && this.activeSources === 0) this.events.onStarved?.();
  }

  private armStallTimer(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      const why = this.activeSources === 0 ? 'no peer is left to download from' : 'the peers sent nothing usable';
      this.fail(new DownloadError(`no progress for ${Math.round(this.opts.stallTimeoutMs / 1000)} s: ${why}`));
    }, this.opts.stallTimeoutMs);
  }

  /** Resolves on the next change of the pool (a piece freed or held, a source added or dropped), or after `ms`. */
  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  private stopAll(): void {
    this.finished = true;
    clearTimeout(this.stallTimer);
    for (const s of this.sources.values()) {
      if (!s.dropped) s.source.close(false);
      s.dropped = true;
      s.controller.abort();
    }
    this.pool.cancelAll();
    this.wake();
  }

  private finish(): void {
    if (this.finished) return;
    this.stopAll();
    this.settle.resolve();
  }

  private fail(error: Error): void {
    if (this.finished) return;
    this.stopAll();
    this.settle.reject(error);
  }
}
