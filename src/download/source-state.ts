/**
 * What the downloader knows of each source in use and each fetch under way: errors, what it
 * supplied, its delivery rate (which sets how many pieces it may have in flight), and the
 * transport-independent slow-fetch test (a trickle that keeps a request from timing out is slow).
 */
import { setMaxListeners } from 'node:events';
import type { PieceSource } from './source.ts';

export interface SourceState {
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
  /** Bytes of blocks received from it in finished fetches, verified or not (for the dashboard's rates). */
  received: number;
  /** The piece after this source's last pick (preferred among equally rare ones). */
  cursor: number;
  /** Delivery rate (bytes/s) over the last completed window, Infinity until one completed. */
  rate: number;
  windowStart: number;
  windowBytes: number;
}

/** One in-flight fetch of a piece by one source. */
export interface Fetch {
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

/** A source keeps in flight about what it delivers in this long (at least two pieces). */
const IN_FLIGHT_SECONDS = 0.25;
const RATE_WINDOW_MS = 1000;

/** An AbortController whose signal may have many listeners (one per block request in flight). */
export function unboundedController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

/** A fresh state for `source`; what an earlier use of the same id supplied is kept (for reports). */
export function newSourceState(source: PieceSource, prefix: string, earlier?: SourceState): SourceState {
  return {
    source,
    prefix,
    controller: unboundedController(),
    errors: 0,
    slow: false,
    dropped: false,
    bytes: earlier?.bytes ?? 0,
    pieces: earlier?.pieces ?? 0,
    received: earlier?.received ?? 0,
    cursor: -1,
    rate: Infinity,
    windowStart: Date.now(),
    windowBytes: 0,
  };
}

export function newFetch(state: SourceState): Fetch {
  return { state, controller: unboundedController(), active: false, received: 0, mark: 0, markAt: 0, slow: false, lost: false };
}

/**
 * May slot `slot` of `state` take a piece now? Slow start: slots 0 and 1 work at once, slot k
 * only once the source has delivered k - 1 pieces, so the first peer to connect cannot take
 * every piece of a small torrent before the others (a few milliseconds behind) get any. And slot
 * k only while k pieces are what the source delivers in IN_FLIGHT_SECONDS: a slow (rate-capped,
 * shared) source gets few pieces at a time, so the pieces it is sending are soon visible to the
 * swarm as held, instead of many half-sent pieces that other requesters ask it for again. A slow
 * source fetches one piece at a time, and only with a buffer nobody waits for.
 */
export function slotOpen(state: SourceState, slot: number, pieceLength: number, bufferFree: boolean): boolean {
  return state.slow ? slot === 0 && bufferFree : slot < 2 || (state.pieces >= slot - 1 && slot * pieceLength <= state.rate * IN_FLIGHT_SECONDS);
}

/** Count a verified piece of `size` bytes to `state`: its totals and its delivery rate. */
export function creditPiece(state: SourceState, size: number): void {
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
}

/**
 * Judge each active fetch whose window is over: below `minRate` it is slow (and so is its
 * source, until it delivers a piece). Returns the slow ones. O(fetches).
 */
export function judgeRates(inProgress: Iterable<Set<Fetch>>, minRate: number, windowMs: number): Fetch[] {
  const now = Date.now();
  const slow: Fetch[] = [];
  for (const fetches of inProgress) {
    for (const f of fetches) {
      if (!f.active || f.lost || now - f.markAt < windowMs) continue;
      const rate = ((f.received - f.mark) * 1000) / (now - f.markAt);
      f.mark = f.received;
      f.markAt = now;
      f.slow = f.state.slow = rate < minRate;
      if (f.slow) slow.push(f);
    }
  }
  return slow;
}
