/**
 * The index half of the store's tables (peer-table.ts, info-hash-table.ts): open addressing with
 * linear probing from entry hash to entry number, over entries kept dense (0..count-1) by the
 * subclass. Each subclass holds its own keys and its own `find` (the hot path, specialised);
 * this keeps the slot bookkeeping they share. Pure data structure.
 */
export abstract class OpenIndex {
  /** Entry index + 1 per slot, 0 = empty; length a power of two. */
  protected slots: Int32Array;

  constructor(slots: number) {
    this.slots = new Int32Array(slots);
  }

  /** The hash of entry `i`'s key (keyed-hash.ts). */
  protected abstract hashAt(i: number): number;

  /** Index entry `i`, whose key is not in the index yet. */
  protected index(i: number): void {
    this.indexHashed(i, this.hashAt(i));
  }

  /** index(i) when the caller has the hash of its key at hand. */
  protected indexHashed(i: number, hash: number): void {
    this.slots[this.freeSlot(hash)] = i + 1;
  }

  /** Entry `last` moved to `to` (a swap-remove filled a hole): point its slot there. */
  protected moved(last: number, to: number): void {
    this.slots[this.slotOf(last)] = to + 1;
  }

  /** A new index of `size` slots (a power of two) over entries 0..count-1. */
  protected reindex(size: number, count: number): void {
    this.slots = new Int32Array(size);
    for (let i = 0; i < count; i++) this.index(i);
  }

  /** Empty entry `i`'s slot by backward shift (linear probing keeps no tombstones). */
  protected unindex(i: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let hole = this.slotOf(i);
    for (let s = (hole + 1) & mask; slots[s] !== 0; s = (s + 1) & mask) {
      const home = this.hashAt(slots[s]! - 1) & mask;
      // The entry at s may move back into the hole unless its home lies cyclically in (hole, s].
      const between = hole < s ? home > hole && home <= s : home > hole || home <= s;
      if (!between) {
        slots[hole] = slots[s]!;
        hole = s;
      }
    }
    slots[hole] = 0;
  }

  private freeSlot(hash: number): number {
    const mask = this.slots.length - 1;
    let s = hash & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    return s;
  }

  /** The slot that holds entry `i`. */
  private slotOf(i: number): number {
    const mask = this.slots.length - 1;
    let s = this.hashAt(i) & mask;
    while (this.slots[s] !== i + 1) s = (s + 1) & mask;
    return s;
  }
}

/** The smallest power of two >= n. */
export function powerOfTwoAtLeast(n: number): number {
  let size = 1;
  while (size < n) size <<= 1;
  return size;
}
