/**
 * Pure: one page of a tracker's swarms, sorted, without ever sorting (or copying) them all. A
 * store walks its swarms once and offers each to a SwarmSelection, which keeps only the best
 * `offset + limit` in a bounded heap: memory O(page depth), time O(swarms x log depth).
 */

export type SwarmSort = 'seeders' | 'leechers' | 'peers' | 'completed' | 'last_announce' | 'info_hash';
export const SWARM_SORTS: readonly SwarmSort[] = ['seeders', 'leechers', 'peers', 'completed', 'last_announce', 'info_hash'];

export interface SwarmQuery {
  sort: SwarmSort;
  order: 'asc' | 'desc';
  /** Swarms skipped (0-based), at most MAX_LISTING_DEPTH - limit. */
  offset: number;
  /** At most MAX_SWARMS_PER_PAGE. */
  limit: number;
  /** Lowercase hex prefix of the info_hash ('' for all), at most 40 digits. */
  prefix: string;
}

export interface SwarmSummary {
  infoHash: Buffer;
  seeders: number;
  leechers: number;
  /** Downloads reported completed (BEP 48 `downloaded`). */
  completed: number;
  /** ms since the epoch of the swarm's latest announce (0: unknown). */
  lastAnnounce: number;
}

export interface SwarmPage {
  /** Swarms matching the prefix (among those looked at). */
  total: number;
  swarms: SwarmSummary[];
  /** Set when the store looked at only this many of its swarms (a bounded scan of a large shared store). */
  scanned?: number;
}

/** A page never holds more than this many swarms... */
export const MAX_SWARMS_PER_PAGE = 100;
/**
 * ...nor reaches deeper than this into the order (search by prefix to find the rest): the walk
 * keeps this many swarms, and a deeper heap made a million-swarm walk several times slower.
 */
export const MAX_LISTING_DEPTH = 2_000;

/** A query within the bounds above (the HTTP layer has already refused malformed ones). */
export function boundedQuery(q: SwarmQuery): SwarmQuery {
  const limit = Math.max(1, Math.min(MAX_SWARMS_PER_PAGE, Math.floor(q.limit)));
  const offset = Math.max(0, Math.min(MAX_LISTING_DEPTH - limit, Math.floor(q.offset)));
  const prefix = /^[0-9a-f]{0,40}$/.test(q.prefix) ? q.prefix : '';
  return { sort: q.sort, order: q.order, offset, limit, prefix };
}

/** A hex prefix as whole bytes plus an odd last nibble (-1: none). */
export interface BytePrefix {
  bytes: Uint8Array;
  nibble: number;
}

export function bytePrefix(hex: string): BytePrefix {
  const whole = hex.length >> 1;
  return { bytes: Buffer.from(hex.slice(0, whole * 2), 'hex'), nibble: hex.length % 2 === 1 ? parseInt(hex[hex.length - 1]!, 16) : -1 };
}

/** Whether the 20-byte key at `keys[at]` starts with `p`. */
export function hasPrefix(keys: Uint8Array, at: number, p: BytePrefix): boolean {
  const n = p.bytes.length;
  for (let i = 0; i < n; i++) if (keys[at + i] !== p.bytes[i]) return false;
  return p.nibble < 0 || keys[at + n]! >> 4 === p.nibble;
}

function sortValue(sort: SwarmSort, seeders: number, leechers: number, completed: number, lastAnnounce: number): number {
  switch (sort) {
    case 'seeders':
      return seeders;
    case 'leechers':
      return leechers;
    case 'peers':
      return seeders + leechers;
    case 'completed':
      return completed;
    case 'last_announce':
      return lastAnnounce;
    case 'info_hash':
      return 0;
  }
}

const valueOf = (s: SwarmSummary, sort: SwarmSort) => sortValue(sort, s.seeders, s.leechers, s.completed, s.lastAnnounce);

/** The 20-byte key at `keys[at]` against `other`, as Buffer.compare would (no view allocated). */
function compareKey(keys: Uint8Array, at: number, other: Uint8Array): number {
  for (let i = 0; i < 20; i++) {
    const d = keys[at + i]! - other[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** The page order: negative when `a` comes before `b`; ties go by info_hash, ascending. */
export function compareSwarms(a: SwarmSummary, b: SwarmSummary, sort: SwarmSort, order: 'asc' | 'desc'): number {
  const sign = order === 'asc' ? 1 : -1;
  if (sort === 'info_hash') return sign * Buffer.compare(a.infoHash, b.infoHash);
  const d = valueOf(a, sort) - valueOf(b, sort);
  return d !== 0 ? sign * d : Buffer.compare(a.infoHash, b.infoHash);
}

/**
 * The best `offset + limit` swarms offered, in a heap whose root is the worst kept: a swarm
 * that would rank after it costs one comparison and no allocation.
 */
export class SwarmSelection {
  total = 0;
  private readonly heap: SwarmSummary[] = [];
  private readonly depth: number;

  constructor(private readonly q: SwarmQuery) {
    this.depth = q.offset + q.limit;
  }

  /**
   * One swarm; its key is the 20 bytes at `keys[at]`. One that ranks after every kept swarm
   * costs a comparison and allocates nothing (a walk offers a million of them).
   */
  offer(keys: Uint8Array, at: number, seeders: number, leechers: number, completed: number, lastAnnounce: number): void {
    this.total++;
    if (this.heap.length >= this.depth) {
      const root = this.heap[0]!;
      const sign = this.q.order === 'asc' ? 1 : -1;
      let c = this.q.sort === 'info_hash' ? 0 : sortValue(this.q.sort, seeders, leechers, completed, lastAnnounce) - valueOf(root, this.q.sort);
      c = c !== 0 ? sign * c : (this.q.sort === 'info_hash' ? sign : 1) * compareKey(keys, at, root.infoHash);
      if (c >= 0) return;
    }
    const kept = { infoHash: Buffer.from(keys.subarray(at, at + 20)), seeders, leechers, completed, lastAnnounce };
    if (this.heap.length < this.depth) this.push(kept);
    else this.replaceRoot(kept);
  }

  /** The requested page, best first. */
  page(): SwarmSummary[] {
    const sorted = [...this.heap].sort((a, b) => compareSwarms(a, b, this.q.sort, this.q.order));
    return sorted.slice(this.q.offset, this.q.offset + this.q.limit);
  }

  /** `a` ranks after `b` (or is the same swarm). */
  private worse(a: SwarmSummary, b: SwarmSummary): boolean {
    return compareSwarms(a, b, this.q.sort, this.q.order) >= 0;
  }

  private push(s: SwarmSummary): void {
    const h = this.heap;
    h.push(s);
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.worse(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private replaceRoot(s: SwarmSummary): void {
    const h = this.heap;
    h[0] = s;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < h.length && this.worse(h[l]!, h[worst]!)) worst = l;
      if (r < h.length && this.worse(h[r]!, h[worst]!)) worst = r;
      if (worst === i) break;
      [h[i], h[worst]] = [h[worst]!, h[i]!];
      i = worst;
    }
  }
}
