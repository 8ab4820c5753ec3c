/**
 * info_hash -> value, keyed by the 20 raw bytes: the store's swarm lookup, once per announce.
 *
 * Why not a Map keyed by `infoHash.toString('latin1')`: that builds and hashes a string per
 * announce, and its entries and key strings lie scattered on the heap. Here keys sit side by
 * side in one Buffer and the index is one Int32Array (about 30 bytes per torrent, no object),
 * so a lookup touches a few cache lines and allocates nothing. Open addressing with linear
 * probing (open-index.ts) over a keyed hash (keyed-hash.ts: chosen info_hashes cannot be made to collide).
 * Entries are dense (0..size-1): removal swaps the last entry into the hole. Pure data structure.
 */
import { keyedHash } from './keyed-hash.ts';
import { OpenIndex, powerOfTwoAtLeast } from './open-index.ts';

const KEY = 20;
const MIN_ENTRIES = 8;

export class InfoHashTable<T> extends OpenIndex {
  private keys = Buffer.allocUnsafeSlow(KEY * MIN_ENTRIES);
  private values: T[] = [];

  constructor() {
    // At most half full: the index has twice the slots of the room for keys.
    super(MIN_ENTRIES * 2);
  }

  get size(): number {
    return this.values.length;
  }

  /** The value for `key` (20 bytes), or undefined. */
  get(key: Uint8Array): T | undefined {
    if (key.length !== KEY) return undefined;
    const i = this.find(key);
    return i < 0 ? undefined : this.values[i];
  }

  /** Add `key` (20 bytes, not present) with `value`. */
  add(key: Uint8Array, value: T): void {
    if (key.length !== KEY) throw new RangeError(`an info_hash is ${KEY} bytes, got ${key.length}`);
    const i = this.values.length;
    if ((i + 1) * KEY > this.keys.length) this.resize(Math.max(MIN_ENTRIES, i * 2));
    this.keys.set(key, i * KEY);
    this.values.push(value);
    this.index(i);
  }

  /** Remove `key` if present. */
  delete(key: Uint8Array): void {
    if (key.length !== KEY) return;
    const i = this.find(key);
    if (i >= 0) this.removeAt(i);
  }

  /**
   * Visit every entry; `visit` returns true to remove the entry it was given. Entries are
   * walked from the last, so removing the current one (a swap with the last) skips nothing.
   */
  sweep(visit: (value: T) => boolean): void {
    for (let i = this.values.length - 1; i >= 0; i--) if (visit(this.values[i]!)) this.removeAt(i);
    this.compact(Infinity);
  }

  /**
   * Give back the room of removed entries once at most a quarter of it is used, if that means
   * rehashing at most `maxEntries` entries. Removal never does this by itself: rehashing is one
   * pause in proportion to the entries (~65 ms for 260,000 here), so the caller picks the moment
   * and the bound (the store: at the end of an expiry pass, when few are left).
   */
  compact(maxEntries: number): void {
    const cap = this.keys.length / KEY;
    const n = this.values.length;
    if (cap > MIN_ENTRIES && n < cap / 4 && n <= maxEntries) this.resize(Math.max(MIN_ENTRIES, powerOfTwoAtLeast(n * 2)));
  }

  /** Remove entry `i` (0..size-1): the last entry moves into its place. */
  deleteAt(i: number): void {
    if (i >= 0 && i < this.values.length) this.removeAt(i);
  }

  valuesView(): readonly T[] {
    return this.values;
  }

  private find(key: Uint8Array): number {
    const mask = this.slots.length - 1;
    const keys = this.keys;
    for (let s = keyedHash(key, 0, KEY) & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      const k = (v - 1) * KEY;
      let j = 0;
      while (j < KEY && keys[k + j] === key[j]) j++;
      if (j === KEY) return v - 1;
    }
  }

  private removeAt(i: number): void {
    this.unindex(i);
    const last = this.values.length - 1;
    if (i !== last) {
      // Swap-remove: the last entry moves into the hole and its slot is repointed.
      this.moved(last, i);
      this.keys.copy(this.keys, i * KEY, last * KEY, last * KEY + KEY);
      this.values[i] = this.values[last]!;
    }
    this.values.pop();
  }

  protected hashAt(i: number): number {
    return keyedHash(this.keys, i * KEY, KEY);
  }

  /** Room for `entries`; the index is rebuilt at twice that, rounded up to a power of two. */
  private resize(entries: number): void {
    const keys = Buffer.allocUnsafeSlow(entries * KEY);
    this.keys.copy(keys, 0, 0, this.values.length * KEY);
    this.keys = keys;
    this.reindex(powerOfTwoAtLeast(entries * 2), this.values.length);
  }
}
