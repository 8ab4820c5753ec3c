/**
 * The download scheduler: which piece from which source, bounded memory, SHA-1 checks, and what
 * to do with a source that fails or lies.
 *
 * Each source gets `maxInFlight` worker slots; a slot takes one piece the source holds and that no
 * one else is fetching, fetches it block by block, verifies the SHA-1, writes it, and only then
 * marks it held. Bytes of pieces in memory are bounded by a byte budget. A piece that fails its
 * hash is traced to every source that supplied one of its blocks; a source in 3 failed pieces is
 * dropped for good.
 */
import { createHash } from 'node:crypto';
import { pieceHash, pieceSize, type Metainfo } from '../metainfo/metainfo.ts';
import type { PieceStore } from '../storage/piece-store.ts';
import type { Bitfield } from '../peer/bitfield.ts';
import type { PieceSource } from './source.ts';
import { ByteBudget } from './byte-budget.ts';

export interface DownloaderOptions {
  /** Most bytes of unverified pieces held in memory at once (at least one piece is always allowed). */
  budgetBytes: number;
  /** A piece failing its hash this many times ends the download. */
  maxPieceFailures: number;
  /** A source that supplied blocks of this many failed pieces is dropped and not used again. */
  maxBadPiecesPerSource: number;
  /** A source failing this many requests in a row is dropped (it may be added again later). */
  maxConsecutiveErrors: number;
  /** Give up when no piece has completed for this long. */
  stallTimeoutMs: number;
}

export const DEFAULT_DOWNLOADER_OPTIONS: DownloaderOptions = {
  budgetBytes: 64 * 1024 * 1024,
  maxPieceFailures: 5,
  maxBadPiecesPerSource: 3,
  maxConsecutiveErrors: 3,
  stallTimeoutMs: 60_000,
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
}

export class DownloadError extends Error {}

export class Downloader {
  private readonly sources = new Map<string, SourceState>();
  private readonly banned = new Set<string>();
  private readonly inProgress = new Set<number>();
  private readonly failures = new Map<number, number>();
  private readonly budget: ByteBudget;
  private wakers: Array<() => void> = [];
  private finished = false;
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  private readonly done: Promise<void>;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Verified bytes fetched from sources (for the tracker's `downloaded`). */
  downloadedBytes = 0;

  constructor(
    private readonly meta: Metainfo,
    private readonly store: PieceStore,
    readonly have: Bitfield,
    private readonly opts: DownloaderOptions = DEFAULT_DOWNLOADER_OPTIONS,
    private readonly events: DownloaderEvents = {},
  ) {
    this.budget = new ByteBudget(opts.budgetBytes);
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {}); // observed through run()
    if (have.complete) this.finish();
    else this.armStallTimer();
  }

  /** Resolves when every piece is held and written; rejects on a fatal error. */
  run(): Promise<void> {
    return this.done;
  }

  get bytesLeft(): number {
    let left = 0;
    for (let i = 0; i < this.meta.pieceCount; i++) if (!this.have.has(i)) left += pieceSize(this.meta, i);
    return left;
  }

  get activeSources(): number {
    let n = 0;
    for (const s of this.sources.values()) if (!s.dropped) n++;
    return n;
  }

  /** Use `source` too (ignored if it is already in use or was banned as a liar). */
  addSource(source: PieceSource): boolean {
    if (this.finished || this.banned.has(source.id)) return false;
    const existing = this.sources.get(source.id);
    if (existing && !existing.dropped) return false;
    const state: SourceState = { source, controller: new AbortController(), badPieces: existing?.badPieces ?? 0, errors: 0, dropped: false };
    this.sources.set(source.id, state);
    void this.startSource(state);
    return true;
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
    const slots = Array.from({ length: Math.max(1, state.source.maxInFlight) }, () => this.worker(state));
    await Promise.all(slots);
  }

  private async worker(state: SourceState): Promise<void> {
    while (!this.finished && !state.dropped) {
      const piece = this.pick(state.source);
      if (piece === undefined) {
        await this.waitForChange();
        continue;
      }
      this.inProgress.add(piece);
      const size = pieceSize(this.meta, piece);
      if (!(await this.budget.acquire(size))) {
        this.inProgress.delete(piece);
        return;
      }
      try {
        await this.fetchPiece(state, piece, size);
      } finally {
        this.budget.release(size);
        this.inProgress.delete(piece);
        this.wake();
      }
    }
  }

  /** A random piece the source holds that is neither held nor being fetched. */
  private pick(source: PieceSource): number | undefined {
    const candidates: number[] = [];
    for (let i = 0; i < this.meta.pieceCount; i++) {
      if (!this.have.has(i) && !this.inProgress.has(i) && source.has(i)) candidates.push(i);
    }
    if (candidates.length === 0) return undefined;
    return candidates[Math.floor(Math.random() * candidates.length)];
  }

  private async fetchPiece(state: SourceState, piece: number, size: number): Promise<void> {
    const buf = Buffer.allocUnsafe(size);
    const suppliers = new Set<SourceState>();
    try {
      for (let begin = 0; begin < size; ) {
        const length = Math.min(state.source.maxBlock, size - begin);
        const block = await state.source.fetchBlock(piece, begin, length, state.controller.signal);
        if (block.length !== length) throw new Error(`sent ${block.length} bytes for a ${length}-byte block`);
        block.copy(buf, begin);
        suppliers.add(state);
        begin += length;
      }
      state.errors = 0;
    } catch (e) {
      if (this.finished || state.dropped) return;
      if (++state.errors >= this.opts.maxConsecutiveErrors) this.drop(state, (e as Error).message, false);
      return;
    }
    if (this.finished) return;
    const ok = createHash('sha1').update(buf).digest().equals(pieceHash(this.meta, piece));
    if (!ok) {
      this.pieceFailed(piece, [...suppliers]);
      return;
    }
    try {
      await this.store.write(piece * this.meta.pieceLength, buf);
    } catch (e) {
      this.fail(new DownloadError(`cannot write to disk: ${(e as Error).message}`));
      return;
    }
    if (this.finished) return;
    this.have.set(piece);
    this.downloadedBytes += size;
    this.armStallTimer();
    this.events.onPiece?.(piece, state.source);
    if (this.have.complete) this.finish();
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
    if (state.dropped) return;
    state.dropped = true;
    if (ban) this.banned.add(state.source.id);
    state.controller.abort();
    state.source.close();
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

  private waitForChange(): Promise<void> {
    return new Promise((resolve) => this.wakers.push(resolve));
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
      s.dropped = true;
      s.controller.abort();
      s.source.close();
    }
    this.budget.cancelAll();
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
