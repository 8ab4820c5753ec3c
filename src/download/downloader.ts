/**
 * The download scheduler: which piece from which source, bounded memory, SHA-1 checks, and what
 * to do with a source that fails, stalls, trickles or lies.
 *
 * Each source gets `maxInFlight` worker slots; a slot takes a piece the source holds that no one
 * else is fetching (rarest first; among equals, runs of consecutive pieces from random places,
 * so peers that start together spread out), fetches it block by block into a buffer from a fixed
 * pool (whose size bounds the pieces in memory), hashes it as it arrives, verifies the SHA-1,
 * writes it, and only then marks it held and returns the buffer. When every missing piece is already being
 * fetched (endgame), idle slots fetch the same pieces too; the first verified copy wins and the
 * other requests are cancelled.
 *
 * Hostile sources. Every fetch fills its own buffer from one source (endgame copies are whole
 * separate fetches, never blocks mixed from several sources), so a piece that fails its hash
 * names its culprit exactly: that source's address prefix (IPv4 /32, IPv6 /64) is banned for
 * the session, whatever peer_id or port it comes back with. Failures never end the download by
 * themselves (a liar could otherwise end it while an honest source holds the piece); only the
 * stall timeout does, when nothing can progress. A fetch that moves less than `minFetchRate`
 * over a window is slow: an idle source that is not slow itself may take its piece (the slow
 * fetch is cancelled), and a slow fetch gives its buffer up when another fetch waits for one.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { pieceHash, pieceSize, type Metainfo } from '../metainfo/metainfo.ts';
import type { PieceStore } from '../storage/piece-store.ts';
import type { Bitfield } from '../bittorrent/bitfield.ts';
import { SourceBusyError, type PieceSource } from './source.ts';
import { PiecePool } from './piece-pool.ts';
import { addressPrefix } from '../bittorrent/address.ts';

export interface DownloaderOptions {
  /**
   * Most bytes of pieces held in memory at once (at least one piece is always allowed): that many
   * piece buffers at most are allocated, and reused from piece to piece.
   */
  budgetBytes: number;
  /** A source failing this many requests in a row is dropped (it may be added again later). */
  maxConsecutiveErrors: number;
  /** Give up when no piece has completed for this long. */
  stallTimeoutMs: number;
  /** How long an idle slot waits before asking its source again what it holds. */
  idleRecheckMs: number;
  /** Most sources in use at once. */
  maxSources: number;
  /** Most sources in use at once from one address prefix (IPv4 address, IPv6 /64, host name). */
  maxSourcesPerAddress: number;
  /** Bytes per second below which a fetch is slow (judged once per `rateWindowMs`). */
  minFetchRate: number;
  /** The window a fetch's rate is measured over; also its grace period once it has a buffer. */
  rateWindowMs: number;
}

export const DEFAULT_DOWNLOADER_OPTIONS: DownloaderOptions = {
  budgetBytes: 32 * 1024 * 1024,
  maxConsecutiveErrors: 3,
  stallTimeoutMs: 60_000,
  idleRecheckMs: 1000,
  // A host may run a seeder and several requesters (a household behind NAT, a test swarm on
  // loopback); more than that from one address only helps it crowd others out.
  maxSources: 100,
  maxSourcesPerAddress: 8,
  // One 16 KiB wire block per second: far below any useful peer, far above a trickle that only
  // keeps a request from timing out.
  minFetchRate: 16 * 1024,
  rateWindowMs: 4000,
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
  /** addressPrefix(source.address): the key of bans and per-address limits. */
  prefix: string;
  controller: AbortController;
  errors: number;
  /** Its last fetch judged was below minFetchRate (it may then not take others' slow pieces). */
  slow: boolean;
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
  /** It has its buffer: its rate is being measured. */
  active: boolean;
  /** Bytes of the piece received, and the count and time at the start of the current rate window. */
  received: number;
  mark: number;
  markAt: number;
  /** Below minFetchRate over its last window. */
  slow: boolean;
  /** Cancelled because it was slow: not an error of its source. */
  lost: boolean;
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
  /** Address prefixes that sent a piece that failed its hash. */
  private readonly banned = new Set<string>();
  /** Live (not dropped) sources in total and per address prefix. */
  private live = 0;
  private readonly livePerPrefix = new Map<string, number>();
  /** piece -> the fetches under way for it (more than one only in endgame). */
  private readonly inProgress = new Map<number, Set<Fetch>>();
  /** piece -> the banned prefixes that sent it bad (for the stall message). */
  private readonly failedBy = new Map<number, Set<string>>();
  /** Verified pieces being written: not yet held (not served), but no longer to be fetched. */
  private readonly writing = new Set<number>();
  private readonly pool: PiecePool;
  private wakers: Array<() => void> = [];
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
    return this.live;
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

  /**
   * Why a new source at `address` would be refused (its prefix is banned, or the limits are
   * reached), or undefined. Lets callers skip dialling a peer that could not be used.
   */
  refusal(address: string): string | undefined {
    if (this.finished) return 'the download is over';
    const prefix = addressPrefix(address);
    if (this.banned.has(prefix)) return `${prefix} is banned (it sent data that failed its SHA-1 check)`;
    if (this.live >= this.opts.maxSources) return `already ${this.live} sources`;
    if ((this.livePerPrefix.get(prefix) ?? 0) >= this.opts.maxSourcesPerAddress) return `already ${this.opts.maxSourcesPerAddress} sources at ${prefix}`;
    return undefined;
  }

  /** Has `address` (its prefix) sent bad data? */
  isBanned(address: string): boolean {
    return this.banned.has(addressPrefix(address));
  }

  /** Use `source` too (ignored if it is already in use, its address is banned, or limits are reached). */
  addSource(source: PieceSource): boolean {
    if (this.refusal(source.address) !== undefined) return false;
    const existing = this.sources.get(source.id);
    if (existing && !existing.dropped) return false;
    const prefix = addressPrefix(source.address);
    const state: SourceState = {
      source,
      prefix,
      controller: unboundedController(),
      errors: 0,
      slow: false,
      dropped: false,
      bytes: existing?.bytes ?? 0,
      pieces: existing?.pieces ?? 0,
      cursor: -1,
      rate: Infinity,
      windowStart: Date.now(),
      windowBytes: 0,
    };
    this.sources.set(source.id, state);
    this.live++;
    this.livePerPrefix.set(prefix, (this.livePerPrefix.get(prefix) ?? 0) + 1);
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
      // A slow source fetches one piece at a time, and only with a buffer nobody waits for:
      // slow fetches must not hold the memory that faster ones need.
      const warm = state.slow
        ? slot === 0 && this.pool.available
        : slot < 2 || (state.pieces >= slot - 1 && slot * pieceLength <= state.rate * IN_FLIGHT_SECONDS);
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
      const fetch: Fetch = { state, controller: unboundedController(), active: false, received: 0, mark: 0, markAt: 0, slow: false, lost: false };
      const onAbort = () => fetch.controller.abort();
      state.controller.signal.addEventListener('abort', onAbort, { once: true });
      let fetches = this.inProgress.get(piece);
      if (!fetches) this.inProgress.set(piece, (fetches = new Set()));
      else if (!state.slow) for (const f of fetches) if (f.slow) this.lose(f); // a faster source takes the piece over
      fetches.add(fetch);
      const size = pieceSize(this.meta, piece);
      try {
        // A buffer for the piece before its first request: the pool bounds pieces in flight.
        const pooled = await this.pool.acquire();
        if (!pooled) return;
        fetch.active = true;
        fetch.markAt = Date.now();
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
   * (fewest live sources hold it); among equals, the one after its last pick, else a random one.
   * If there is none, join a piece being fetched by one other source only, or (unless this
   * source is slow itself) one whose every fetch is slow (endgame).
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
        if (this.joinable(fetches, state)) endgame.push(i);
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

  /** May `state` fetch this piece too? Never twice by one source; see pick(). */
  private joinable(fetches: Set<Fetch>, state: SourceState): boolean {
    let allSlow = true;
    for (const f of fetches) {
      if (f.state === state) return false;
      if (!f.slow) allSlow = false;
    }
    return fetches.size === 1 || (allSlow && !state.slow);
  }

  /** Cancel a slow fetch: its piece goes to another source (not an error of its own). */
  private lose(f: Fetch): void {
    f.lost = true;
    f.controller.abort();
  }

  /**
   * Judge each fetch's rate over its last window (transport-independent: a trickle of bytes
   * that keeps a request from timing out is still caught). A slow fetch's piece may be taken by
   * an idle source; if fetches wait for a buffer, slow fetches give theirs up. O(fetches) a second.
   */
  private checkRates(): void {
    const now = Date.now();
    let waiting = this.pool.waiting;
    const slow: Fetch[] = [];
    for (const fetches of this.inProgress.values()) {
      for (const f of fetches) {
        if (!f.active || f.lost || now - f.markAt < this.opts.rateWindowMs) continue;
        const rate = ((f.received - f.mark) * 1000) / (now - f.markAt);
        f.mark = f.received;
        f.markAt = now;
        f.slow = f.state.slow = rate < this.opts.minFetchRate;
        if (f.slow) slow.push(f);
      }
    }
    for (const f of slow) if (waiting-- > 0) this.lose(f);
    if (slow.length) this.wake(); // idle slots may take these pieces now
  }

  private async fetchPiece(fetch: Fetch, piece: number, buf: Buffer): Promise<void> {
    const { state } = fetch;
    const { source } = state;
    const size = buf.length;
    // SHA-1 as the bytes arrive, while they are in the cache: bytes that land in order are
    // hashed at once, the rest (blocks that came out of order) after the last block.
    const hash = createHash('sha1');
    let hashed = 0;
    const arrived = (offset: number, length: number) => {
      fetch.received += length;
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
      if (this.finished || state.dropped || fetch.lost || this.isDone(piece) || e instanceof SourceBusyError) return;
      if (++state.errors >= this.opts.maxConsecutiveErrors) this.drop(state, (e as Error).message, false);
      return;
    }
    if (this.finished || this.isDone(piece)) return;
    if (hashed < size) hash.update(buf.subarray(hashed));
    const ok = hash.digest().equals(pieceHash(this.meta, piece));
    if (!ok) {
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
    state.slow = false;
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

  /**
   * The piece came whole from `state` and failed its hash: its address prefix is banned, so a
   * new source from there (a new peer_id, another port) is refused. Other sources already in
   * use at that prefix stay (they may be honest peers behind the same NAT; at most
   * maxSourcesPerAddress, each banned in turn if it lies). The piece goes back to the pool.
   */
  private pieceFailed(piece: number, state: SourceState): void {
    let by = this.failedBy.get(piece);
    if (!by) this.failedBy.set(piece, (by = new Set()));
    by.add(state.prefix);
    this.events.onPieceFailed?.(piece, [state.source]);
    this.banned.add(state.prefix);
    this.drop(state, `sent piece ${piece}, which failed its SHA-1 check (${state.prefix} banned)`, true);
  }

  private drop(state: SourceState, reason: string, ban: boolean): void {
    if (state.dropped) return;
    state.dropped = true;
    this.live--;
    const n = (this.livePerPrefix.get(state.prefix) ?? 1) - 1;
    if (n > 0) this.livePerPrefix.set(state.prefix, n);
    else this.livePerPrefix.delete(state.prefix);
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
      this.fail(new DownloadError(`no progress for ${Math.round(this.opts.stallTimeoutMs / 1000)} s: ${why}${this.poisonedPiece()}`));
    }, this.opts.stallTimeoutMs);
  }

  /** For the stall message: a missing piece that failed its hash and no live source holds. */
  private poisonedPiece(): string {
    for (const [piece, by] of this.failedBy) {
      if (this.isDone(piece)) continue;
      let held = false;
      for (const s of this.sources.values()) if (!s.dropped && s.source.has(piece)) held = true;
      if (!held) return ` (piece ${piece} failed its SHA-1 check from every peer that had it: ${[...by].join(', ')} banned)`;
    }
    return '';
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
    clearInterval(this.rateTimer);
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
