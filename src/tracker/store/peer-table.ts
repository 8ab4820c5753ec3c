/**
 * One swarm's peers, packed: fixed-size records in one Buffer plus an open-addressing hash
 * index (Int32Array) from compact address (ip, port) to record. About 60 bytes per peer, against
 * 200+ for a JS object, a Map entry and strings per peer; trackers hold millions of peers.
 *
 * Records are dense (0..count-1), so a random sample is O(numwant) and removal is a swap with
 * the last record. Pure data structure, no I/O.
 */
import { keyedHash } from './keyed-hash.ts';
import { OpenIndex, powerOfTwoAtLeast } from './open-index.ts';

/** Record layout, in bytes. */
const FAMILY = 0; // 4 or 6
const SEEDER = 1; // 0 or 1
const ADDR = 2; // address then big-endian port: 6 bytes (IPv4) or 18 (IPv6)
const ID = 20; // peer_id, 20 bytes
const SEEN = 40; // last announce, ms since the epoch, float64 LE (8-aligned: REC is a multiple of 8)
const REC = 48;

const MIN_RECORDS = 4;
/**
 * From this many records a table keeps a count of records per address (for `sameAddress`); below
 * it, counting scans the records, a few cache lines. Dropped again below half of it.
 */
const COUNT_FROM = 64;

/**
 * A number per address (the /32 or /64 of a record, port left out): the IPv4 address itself, or
 * above 2^32 a keyed hash of the IPv6 /64. Two /64s share a number with probability 2^-32 per
 * pair, and the seed is secret, so no one can choose to share a victim's: at worst a peer goes
 * unlisted. Exact numbers would need a second key store per table.
 */
function addressNumber(b: Uint8Array, at: number, family: number): number {
  if (family === 4) return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
  return 0x100000000 + keyedHash(b, at, 8);
}
/** Up to this many records a table grows 4 at a time (most swarms are small), then by half. */
const LINEAR_GROWTH_UNTIL = 32;

function grown(records: number): number {
  return records < LINEAR_GROWTH_UNTIL ? records + 4 : Math.ceil(records * 1.5);
}

/** Copy `len` bytes. For the 6- to 20-byte runs of a record a plain loop beats Buffer.copy's call. */
function copyBytes(from: Uint8Array, at: number, to: Uint8Array, toAt: number, len: number): void {
  for (let k = 0; k < len; k++) to[toAt + k] = from[at + k]!;
}

export class PeerTable extends OpenIndex {
  count = 0;
  seeders = 0;
  /** IPv6 peers among `count` (sizes the peers6 part of a sample). */
  private count6 = 0;
  private recs = Buffer.allocUnsafeSlow(REC * MIN_RECORDS);
  /** Records per address number, kept only from COUNT_FROM records up. */
  private perAddress: Map<number, number> | null = null;
  /** `recs` as float64s (its own ArrayBuffer, offset 0): last-seen times without readDoubleLE (same bytes as SEEN). */
  private seen = new Float64Array(this.recs.buffer, 0, this.recs.length / 8);

  constructor() {
    // The index is at most 2/3 full (resize gives it >= 1.5 x the records' room).
    super(MIN_RECORDS * 2);
  }

  /** Index of the record whose address is `key` (6 or 18 compact bytes), or -1. */
  find(key: Buffer): number {
    const mask = this.slots.length - 1;
    const family = key.length === 6 ? 4 : 6;
    for (let s = keyedHash(key, 0, key.length) & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      const at = (v - 1) * REC;
      if (this.recs[at + FAMILY] === family && this.keyAt(at, key)) return v - 1;
    }
  }

  private keyAt(at: number, key: Buffer): boolean {
    const recs = this.recs;
    for (let k = 0; k < key.length; k++) if (recs[at + ADDR + k] !== key[k]) return false;
    return true;
  }

  /** Append a record for `key` (not present) and index it; fill it with `update`. */
  add(key: Buffer): number {
    if ((this.count + 1) * REC > this.recs.length) this.resize(grown(this.recs.length / REC));
    const i = this.count++;
    const at = i * REC;
    this.recs.fill(0, at, at + REC);
    this.recs[at + FAMILY] = key.length === 6 ? 4 : 6;
    key.copy(this.recs, at + ADDR);
    if (key.length !== 6) this.count6++;
    this.index(i);
    if (this.perAddress) this.countAddress(i, 1);
    else if (this.count === COUNT_FROM) this.startCounting();
    return i;
  }

  /**
   * Records whose address (the /32 of an IPv4 key, the /64 of an IPv6 one; any port) is that of
   * compact address `key`: what the per-address limit of a swarm counts.
   */
  sameAddress(key: Uint8Array): number {
    const family = key.length === 6 ? 4 : 6;
    if (this.perAddress) return this.perAddress.get(addressNumber(key, 0, family)) ?? 0;
    const len = family === 4 ? 4 : 8;
    const recs = this.recs;
    let n = 0;
    for (let i = 0, at = 0; i < this.count; i++, at += REC) {
      if (recs[at + FAMILY] !== family) continue;
      let k = 0;
      while (k < len && recs[at + ADDR + k] === key[k]) k++;
      if (k === len) n++;
    }
    return n;
  }

  private startCounting(): void {
    this.perAddress = new Map();
    for (let i = 0; i < this.count; i++) this.countAddress(i, 1);
  }

  private countAddress(i: number, delta: 1 | -1): void {
    const at = i * REC;
    const n = addressNumber(this.recs, at + ADDR, this.recs[at + FAMILY]!);
    const left = (this.perAddress!.get(n) ?? 0) + delta;
    if (left > 0) this.perAddress!.set(n, left);
    else this.perAddress!.delete(n);
  }

  update(i: number, peerId: Buffer, seeder: boolean, now: number): void {
    const at = i * REC;
    this.seeders += (seeder ? 1 : 0) - this.recs[at + SEEDER]!;
    this.recs[at + SEEDER] = seeder ? 1 : 0;
    copyBytes(peerId, 0, this.recs, at + ID, 20);
    this.seen[(at + SEEN) >> 3] = now;
  }

  remove(i: number): void {
    const at = i * REC;
    if (this.recs[at + SEEDER]) this.seeders--;
    if (this.recs[at + FAMILY] === 6) this.count6--;
    if (this.perAddress) this.countAddress(i, -1);
    this.unindex(i);
    const last = --this.count;
    if (i !== last) {
      // Swap-remove: the last record moves into the hole and its slot is repointed.
      this.moved(last, i);
      this.recs.copy(this.recs, at, last * REC, last * REC + REC);
    }
    if (this.perAddress && this.count < COUNT_FROM / 2) this.perAddress = null;
    const cap = this.recs.length / REC;
    if (cap > MIN_RECORDS * 2 && this.count < cap / 4) this.resize(Math.ceil(cap / 2));
  }

  /** Remove every record last seen before `cutoff`; returns how many went. */
  dropOlderThan(cutoff: number): number {
    const before = this.count;
    for (let i = this.count - 1; i >= 0; i--) if (this.lastSeen(i) < cutoff) this.remove(i);
    return before - this.count;
  }

  isSeeder(i: number): boolean {
    return this.recs[i * REC + SEEDER] === 1;
  }
  family(i: number): 4 | 6 {
    return this.recs[i * REC + FAMILY] === 4 ? 4 : 6;
  }
  lastSeen(i: number): number {
    return this.seen[(i * REC + SEEN) >> 3]!;
  }
  /** Compact address of record `i` (a copy). */
  address(i: number): Buffer {
    const at = i * REC + ADDR;
    return Buffer.from(this.recs.subarray(at, at + (this.family(i) === 4 ? 6 : 18)));
  }
  peerId(i: number): Buffer {
    const at = i * REC + ID;
    return Buffer.from(this.recs.subarray(at, at + 20));
  }

  /**
   * Up to `n` records other than `self` (-1: none) seen at or after `cutoff`, from a random starting point
   * (as opentracker does), written as compact bytes per family, and their peer_ids if `withIds`.
   */
  sample(self: number, n: number, cutoff: number, withIds: boolean): { v4: Buffer; v6: Buffer; ids4?: Buffer; ids6?: Buffer } {
    // `self` is -1 for an asker that is not in the table (answered but not listed).
    const want = Math.max(0, Math.min(n, self >= 0 ? this.count - 1 : this.count));
    const n6 = Math.min(want, this.count6);
    // One allocation for both families' bytes.
    const cap4 = Math.min(want, this.count - this.count6) * 6;
    const bytes = Buffer.allocUnsafe(cap4 + n6 * 18);
    const ids4 = withIds ? Buffer.allocUnsafe((cap4 / 6) * 20) : undefined;
    const ids6 = withIds ? Buffer.allocUnsafe(n6 * 20) : undefined;
    let got4 = 0;
    let got6 = 0;
    const total = this.count;
    const recs = this.recs;
    const seen = this.seen;
    const start = total > 0 ? Math.floor(Math.random() * total) : 0;
    for (let k = 0; k < total && got4 + got6 < want; k++) {
      const i = start + k < total ? start + k : start + k - total;
      if (i === self) continue;
      const at = i * REC;
      if (seen[(at + SEEN) >> 3]! < cutoff) continue;
      if (recs[at + FAMILY] === 4) {
        copyBytes(recs, at + ADDR, bytes, got4 * 6, 6);
        if (ids4) copyBytes(recs, at + ID, ids4, got4 * 20, 20);
        got4++;
      } else {
        copyBytes(recs, at + ADDR, bytes, cap4 + got6 * 18, 18);
        if (ids6) copyBytes(recs, at + ID, ids6, got6 * 20, 20);
        got6++;
      }
    }
    return {
      v4: bytes.subarray(0, got4 * 6),
      v6: bytes.subarray(cap4, cap4 + got6 * 18),
      ...(withIds ? { ids4: ids4!.subarray(0, got4 * 20), ids6: ids6!.subarray(0, got6 * 20) } : {}),
    };
  }

  protected hashAt(i: number): number {
    const at = i * REC;
    return keyedHash(this.recs, at + ADDR, this.recs[at + FAMILY] === 4 ? 6 : 18);
  }

  /** New capacity of `records`; the index is rebuilt at the next power of two >= 1.5 x that. */
  private resize(records: number): void {
    const recs = Buffer.allocUnsafeSlow(records * REC);
    this.recs.copy(recs, 0, 0, this.count * REC);
    this.recs = recs;
    this.seen = new Float64Array(recs.buffer, 0, recs.length / 8);
    this.reindex(powerOfTwoAtLeast(records * 1.5), this.count);
  }
}
