/**
 * A peer's block requests waiting to be served, in arrival order. A cancel is O(1): requests are
 * grouped by their byte offset in the torrent (a map), and a cancel only counts a tombstone in
 * its group, skipped when that offset next comes up in the queue. (A linear search per cancel
 * over 2,000 requests let a cancel storm stall the process.) Duplicates are served as often as
 * they were asked for.
 */
export interface BlockRequest {
  index: number;
  begin: number;
  length: number;
}

interface Group {
  length: number;
  /** Requests for this offset still to be served. */
  waiting: number;
  /** Cancelled ones still in the queue. */
  skip: number;
}

export class RequestQueue {
  /** Offsets (index * piece length + begin: unique per block, exact below 2^53), oldest first from `head`. */
  private offsets: number[] = [];
  private head = 0;
  private readonly groups = new Map<number, Group>();
  private live = 0;

  constructor(private readonly pieceLength: number) {}

  /** Requests waiting (cancelled ones not counted). */
  get size(): number {
    return this.live;
  }

  /** Queue a request. One for an offset already waiting with another length is ignored (false). */
  push(index: number, begin: number, length: number): boolean {
    const key = index * this.pieceLength + begin;
    const g = this.groups.get(key);
    if (g && g.waiting === 0) g.length = length; // only tombstones left: their length no longer matters
    if (g && g.length !== length) return false;
    if (g) g.waiting++;
    else this.groups.set(key, { length, waiting: 1, skip: 0 });
    this.offsets.push(key);
    this.live++;
    return true;
  }

  /** Withdraw one waiting request that matches exactly (true); anything else is ignored (false). */
  cancel(index: number, begin: number, length: number): boolean {
    const g = this.groups.get(index * this.pieceLength + begin);
    if (!g || g.length !== length || g.waiting === 0) return false;
    g.waiting--;
    g.skip++;
    this.live--;
    // Tombstones never outnumber live requests by much: compacting is amortised O(1) per cancel.
    if (this.offsets.length - this.head > 2 * this.live + 1024) this.compact();
    return true;
  }

  /** The oldest waiting request, taken out of the queue. */
  shift(): BlockRequest | undefined {
    while (this.head < this.offsets.length) {
      const key = this.offsets[this.head++]!;
      const g = this.groups.get(key)!;
      const cancelled = g.skip > 0;
      if (cancelled) g.skip--;
      else g.waiting--;
      if (g.waiting === 0 && g.skip === 0) this.groups.delete(key);
      if (cancelled) continue;
      this.live--;
      if (this.head === this.offsets.length) this.reset();
      return { index: Math.floor(key / this.pieceLength), begin: key % this.pieceLength, length: g.length };
    }
    this.reset();
    return undefined;
  }

  clear(): void {
    this.groups.clear();
    this.live = 0;
    this.reset();
  }

  private reset(): void {
    this.offsets = [];
    this.head = 0;
  }

  /** Drop every tombstone from the queue (duplicates are alike, so which copy goes does not matter). */
  private compact(): void {
    const kept: number[] = [];
    for (let i = this.head; i < this.offsets.length; i++) {
      const key = this.offsets[i]!;
      const g = this.groups.get(key)!;
      if (g.skip > 0) {
        g.skip--;
        if (g.waiting === 0 && g.skip === 0) this.groups.delete(key);
      } else {
        kept.push(key);
      }
    }
    this.offsets = kept;
    this.head = 0;
  }
}
