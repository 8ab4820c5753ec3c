/**
 * The download scheduler: which piece from which source, bounded memory, SHA-1 checks, and what
 * to do with a source that fails, stalls, trickles or lies. Its parts: picker.ts (which piece),
 * source-state.ts (slots, rates, slow fetches), source-gate.ts (bans, limits, sources in use),
 * piece-fetch.ts (one piece from one source), piece-pool.ts (the buffers that bound memory).
 *
 * Each source gets `maxInFlight` worker slots; a slot picks a piece, fetches it into a pooled
 * buffer, verifies and writes it, and only then marks it held. In endgame the first verified copy
 * wins and the other requests are cancelled. Every fetch fills its own buffer from one source, so
 * a piece that fails its hash names its culprit, whose address prefix is banned. Failures never
 * end the download by themselves (a liar could otherwise end it while an honest source holds the
 * piece); only the stall timeout does, when nothing can progress.
 */
import { pieceHash, pieceSize, type Metainfo } from '../metainfo/metainfo.ts';
import type { PieceStore } from '../storage/piece-store.ts';
import type { Bitfield } from '../bittorrent/bitfield.ts';
import { SourceBusyError, type PieceSource } from './source.ts';
import { PiecePool } from './piece-pool.ts';
import { pickPiece, type PickerView } from './picker.ts';
import { SourceGate } from './source-gate.ts';
import { creditPiece, judgeRates, newFetch, slotOpen, type Fetch, type SourceState } from './source-state.ts';
import { fetchPieceInto } from './piece-fetch.ts';
import { ChangeSignal } from './change-signal.ts';
import { DEFAULT_DOWNLOADER_OPTIONS, type DownloaderEvents, type DownloaderOptions } from './downloader-options.ts';

export { DEFAULT_DOWNLOADER_OPTIONS, type DownloaderEvents, type DownloaderOptions } from './downloader-options.ts';

export class DownloadError extends Error {}

export class Downloader {
  readonly gate: SourceGate; // read-only outside: the dashboard reads its sources (stats-probe.ts)
  /** piece -> the fetches under way for it (more than one only in endgame). */
  readonly inProgress = new Map<number, Set<Fetch>>(); // the dashboard reads it (stats-probe.ts)
  /** Verified pieces being written: not yet held (not served), but no longer to be fetched. */
  private readonly writing = new Set<number>();
  private readonly pool: PiecePool;
  private readonly view: PickerView<SourceState>;
  /** Wakes idle slots on a change of the pool (a piece freed or held, a source added or dropped). */
  private readonly changes = new ChangeSignal();
  private finished = false;
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  private readonly done: Promise<void>;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly rateTimer: NodeJS.Timeout;
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
    this.gate = new SourceGate(opts);
    const gate = this.gate;
    this.view = {
      pieceCount: meta.pieceCount,
      isDone: (i) => this.isDone(i),
      inProgress: this.inProgress,
      get live() {
        return gate.live();
      },
    };
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {}); // observed through run()
    this.missing = 0;
    for (let i = 0; i < meta.pieceCount; i++) if (!have.has(i)) this.missing += pieceSize(meta, i);
    this.rateTimer = setInterval(() => this.checkRates(), Math.max(10, opts.rateWindowMs / 4));
    this.rateTimer.unref();
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
    return this.gate.liveCount;
  }

  /** Verified pieces and bytes per source label (for reports and tests). */
  contributions(): Map<string, { pieces: number; bytes: number }> {
    return this.gate.contributions();
  }

  /**
   * Why a new source at `address` would be refused (its prefix is banned, or the limits are
   * reached), or undefined. Lets callers skip dialling a peer that could not be used.
   */
  refusal(address: string): string | undefined {
    return this.finished ? 'the download is over' : this.gate.refusal(address);
  }

  /** Has `address` (its prefix) sent bad data? */
  isBanned(address: string): boolean {
    return this.gate.isBanned(address);
  }

  /** Use `source` too (ignored if it is already in use, its address is banned, or limits are reached). */
  addSource(source: PieceSource): boolean {
    const state = this.finished ? undefined : this.gate.admit(source);
    if (!state) return false;
    void this.startSource(state);
    return true;
  }

  hasSource(id: string): boolean {
    return this.gate.has(id);
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
    state.source.watch?.(() => this.changes.notify());
    this.changes.notify(); // a new source can make pieces rarer or commoner for everyone
    const slots = Array.from({ length: Math.max(1, state.source.maxInFlight) }, (_, slot) => this.worker(state, slot));
    await Promise.all(slots);
  }

  /** One slot of a source: pick a piece, fetch it with a pooled buffer, again (see slotOpen). */
  private async worker(state: SourceState, slot: number): Promise<void> {
    while (!this.finished && !state.dropped) {
      const open = slotOpen(state, slot, this.meta.pieceLength, this.pool.available);
      const piece = !open || state.source.ready?.() === false ? undefined : this.pick(state);
      if (piece === undefined) {
        if (state.source.gone?.()) return this.drop(state, 'the connection closed', false); // its peer_id's place is free again
        // Nothing for this source now: wait for a change, then ask again what it holds (a peer that downloads gains pieces).
        await this.changes.wait(this.opts.idleRecheckMs);
        if (!this.finished && !state.dropped && state.source.refresh) {
          await state.source.refresh(state.controller.signal).catch(() => {});
        }
        continue;
      }
      const fetch = newFetch(state);
      const onAbort = () => fetch.controller.abort();
      state.controller.signal.addEventListener('abort', onAbort, { once: true });
      let fetches = this.inProgress.get(piece);
      if (!fetches) this.inProgress.set(piece, (fetches = new Set()));
      else if (!state.slow) for (const f of fetches) if (f.slow) this.lose(f); // a faster source takes the piece over
      fetches.add(fetch);
      try {
        // A buffer for the piece before its first request: the pool bounds pieces in flight.
        const pooled = await this.pool.acquire();
        if (!pooled) return;
        fetch.active = true;
        fetch.markAt = Date.now();
        try {
          await this.fetchPiece(fetch, piece, pooled.subarray(0, pieceSize(this.meta, piece)));
        } finally {
          this.pool.release(pooled);
        }
      } finally {
        state.controller.signal.removeEventListener('abort', onAbort);
        fetches.delete(fetch);
        state.received += fetch.received;
        if (fetches.size === 0) this.inProgress.delete(piece);
        this.changes.notify();
      }
    }
  }

  /** The picker's choice for `state` (see picker.ts); a fresh pick moves its cursor. */
  private pick(state: SourceState): number | undefined {
    const pick = pickPiece(this.view, state);
    if (pick && !pick.endgame) state.cursor = pick.piece + 1;
    return pick?.piece;
  }

  /** Cancel a slow fetch: its piece goes to another source (not an error of its own). */
  private lose(f: Fetch): void {
    f.lost = true;
    f.controller.abort();
  }

  /**
   * Judge each fetch's rate over its last window. A slow fetch's piece may be taken by an idle
   * source; if fetches wait for a buffer, slow fetches give theirs up.
   */
  private checkRates(): void {
    let waiting = this.pool.waiting;
    const slow = judgeRates(this.inProgress.values(), this.opts.minFetchRate, this.opts.rateWindowMs);
    for (const f of slow) if (waiting-- > 0) this.lose(f);
    if (slow.length) this.changes.notify(); // idle slots may take these pieces now
  }

  /** Fetch, verify and write one piece; a failure counts against its source, a bad hash bans it. */
  private async fetchPiece(fetch: Fetch, piece: number, buf: Buffer): Promise<void> {
    const { state } = fetch;
    let digest: Buffer;
    try {
      digest = await fetchPieceInto(state.source, piece, buf, fetch, () => this.isDone(piece));
      state.errors = 0;
    } catch (e) {
      if (this.finished || state.dropped || fetch.lost || this.isDone(piece) || e instanceof SourceBusyError) return;
      if (++state.errors >= this.opts.maxConsecutiveErrors) this.drop(state, (e as Error).message, false);
      return;
    }
    if (this.finished || this.isDone(piece)) return;
    if (!digest.equals(pieceHash(this.meta, piece))) {
      this.pieceFailed(piece, state);
      return;
    }
    // Claim the piece before the write, so an endgame twin cannot write it too; it counts as
    // held (and is served) only once the write completed.
    this.writing.add(piece);
    for (const other of this.inProgress.get(piece) ?? []) if (other !== fetch) other.controller.abort();
    try {
      await this.store.write(piece * this.meta.pieceLength, buf);
    } catch (e) {
      this.fail(new DownloadError(`cannot write to disk: ${(e as Error).message}`, { cause: e })); // the cause's code names it for the user (disk full...)
      return;
    }
    if (this.finished) return;
    this.have.set(piece);
    this.writing.delete(piece);
    this.missing -= buf.length;
    this.downloadedBytes += buf.length;
    creditPiece(state, buf.length);
    this.armStallTimer();
    this.events.onPiece?.(piece, state.source);
    if (this.missing === 0) this.finish();
  }

  private isDone(piece: number): boolean {
    return this.have.has(piece) || this.writing.has(piece);
  }

  /**
   * The piece came whole from `state` and failed its hash: its address prefix is banned, so a
   * new source from there (a new peer_id, another port) is refused. Other sources already in
   * use at that prefix stay (they may be honest peers behind the same NAT; at most
   * maxSourcesPerAddress, each banned in turn if it lies). The piece goes back to the pool.
   */
  private pieceFailed(piece: number, state: SourceState): void {
    this.gate.ban(state.prefix, piece);
    this.events.onPieceFailed?.(piece, [state.source]);
    this.drop(state, `sent piece ${piece}, which failed its SHA-1 check (${state.prefix} banned)`, true);
  }

  private drop(state: SourceState, reason: string, ban: boolean): void {
    if (!this.gate.release(state)) return;
    state.controller.abort();
    state.source.close(true);
    this.events.onSourceDropped?.(state.source, reason, ban);
    this.changes.notify();
    if (!this.finished && this.activeSources === 0) this.events.onStarved?.();
  }

  private armStallTimer(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      const why = this.activeSources === 0 ? 'no peer is left to download from' : this.gate.unheldReason(this.meta.pieceCount, (i) => this.isDone(i)) ?? 'the peers sent nothing usable';
      const poisoned = this.gate.poisonedPiece((i) => this.isDone(i));
      this.fail(new DownloadError(`no progress for ${Math.round(this.opts.stallTimeoutMs / 1000)} s: ${why}${poisoned}`));
    }, this.opts.stallTimeoutMs);
  }

  private stopAll(): void {
    this.finished = true;
    clearTimeout(this.stallTimer);
    clearInterval(this.rateTimer);
    for (const s of this.gate.all()) {
      if (!s.dropped) s.source.close(false);
      s.dropped = true;
      s.controller.abort();
    }
    this.pool.cancelAll();
    this.changes.notify();
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
