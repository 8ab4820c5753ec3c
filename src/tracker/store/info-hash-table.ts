/**
 * info_hash -> value, keyed by the 20 raw bytes: the store's swarm lookup, once per announce.
 *
 * Why not a Map keyed by `infoHash.toString('latin1')`: that builds and hashes a string per
 * announce, and its entries and key strings lie scattered on the heap. Here keys sit side by
 * side in Buffers and the indexes are Int32Arrays (about 30 bytes per torrent, no object),
 * so a lookup touches a few cache lines and allocates nothing. Open addressing with linear
 * probing (open-index.ts) over a keyed hash (keyed-hash.ts: chosen info_hashes cannot be made to collide).
 *
 * Why 256 shards (by the hash's top byte), each its own table: a table that grows or shrinks
 * rehashes every entry it holds in one go, and one table of a million torrents took 450 ms to
 * double (every announce waited); a shard holds 1/256 of them, about 4,000 at the default cap
 * (~1 ms). Within a shard entries are dense (0..size-1): removal swaps the last entry into the
 * hole. Pure data structure.
 */
import { keyedHash } from './keyed-hash.ts';
import { OpenIndex, powerOfTwoAtLeast } from './open-index.ts';

const KEY = 20;
const MIN_ENTRIES = 8;
/** Shards of an InfoHashTable, chosen by the top 8 bits of the key's hash. */
export const SHARDS = 256;

export class InfoHashTable<T> {
  /** For walks that stop and resume (the store's expiry): each shard is dense, 0..size-1. */
  readonly shards: ReadonlyArray<InfoHashShard<T>> = Array.from({ length: SHARDS }, () => new InfoHashShard<T>());
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The value for `key` (20 bytes), or undefined. */
  get(key: Uint8Array): T | undefined {
    if (key.length !== KEY) return undefined;
    const h = keyedHash(key, 0, KEY);
    return this.shards[h >>> 24]!.get(key, h);
  }

  /** Add `key` (20 bytes, not present) with `value`. */
  add(key: Uint8Array, value: T): void {
    if (key.length !== KEY) throw new RangeError(`an info_hash is ${KEY} bytes, got ${key.length}`);
    const h = keyedHash(key, 0, KEY);
    this.shards[h >>> 24]!.add(key, value, h);
    this.count++;
  }

  /** Remove `key` if present. */
  delete(key: Uint8Array): void {
    if (key.length !== KEY) return;
    const h = keyedHash(key, 0, KEY);
    if (this.shards[h >>> 24]!.delete(key, h)) this.count--;
  }

  /** Remove entry `i` of shard `shard`: that shard's last entry moves into its place. */
  deleteAt(shard: number, i: number): void {
    if (this.shards[shard]!.deleteAt(i)) this.count--;
  }

  /** Visit every entry; `visit` returns true to remove the entry it was given. */
  sweep(visit: (value: T) => boolean): void {
    for (const shard of this.shards) this.count -= shard.sweep(visit);
  }

  /** Every value (a copy), in no particular order. */
  values(): T[] {
    return this.shards.flatMap((s) => s.valuesView());
  }
}

/** One shard: a table of its own, given the key's hash by InfoHashTable. */
export class InfoHashShard<T> extends OpenIndex {
  private keys = Buffer.allocUnsafeSlow(KEY * MIN_ENTRIES);
  private values: T[] = [];

  constructor() {
    // At most half full: the index has twice the slots of the room for keys.
    super(MIN_ENTRIES * 2);
  }

  get size(): number {
    return this.values.length;
  }

  /** The value for `key` (20 bytes, hash `h`), or undefined. */
  get(key: Uint8Array, h: number): T | undefined {
    const i = this.find(key, h);
    return i < 0 ? undefined : this.values[i];
  }

  /** Add `key` (20 bytes, hash `h`, not present) with `value`. */
  add(key: Uint8Array, value: T, h: number): void {
    const i = this.values.length;
    if ((i + 1) * KEY > this.keys.length) this.resize(Math.max(MIN_ENTRIES, i * 2));
    this.keys.set(key, i * KEY);
    this.values.push(value);
    this.indexHashed(i, h);
  }

  /** Remove `key` (hash `h`) if present; whether it was. */
  delete(key: Uint8Array, h: number): boolean {
    const i = this.find(key, h);
    if (i >= 0) this.removeAt(i);
    return i >= 0;
  }

  /**
   * Visit every entry; `visit` returns true to remove the entry it was given; returns how many
   * went. Entries are walked from the last, so removing the current one (a swap with the last)
   * skips nothing.
   */
  sweep(visit: (value: T) => boolean): number {
    const before = this.values.length;
    for (let i = this.values.length - 1; i >= 0; i--) if (visit(this.values[i]!)) this.removeAt(i);
    return before - this.values.length;
  }

  /** Remove entry `i` (0..size-1): the last entry moves into its place. Whether there was one. */
  deleteAt(i: number): boolean {
    if (i < 0 || i >= this.values.length) return false;
    this.removeAt(i);
    return true;
  }

  valuesView(): readonly T[] {
    return this.values;
  }

  /** The keys, 20 bytes each, entry i at i * 20 (valid until the shard next changes). */
  keysView(): Buffer {
    return this.keys;
  }

  private find(key: Uint8Array, h: number): number {
    const mask = this.slots.length - 1;
    const keys = this.keys;
    for (let s = h & mask; ; s = (s + 1) & mask) {
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
    // A shard is small (see above), so shrinking it is a short pause.
    const cap = this.keys.length / KEY;
    if (cap > MIN_ENTRIES && this.values.length < cap / 4) this.resize(Math.max(MIN_ENTRIES, Math.ceil(cap / 2)));
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
