/**
 * Per-address limits of the tracker's store: who counts as "one address", and how many new
 * torrents an address may create per minute. An address is an IPv4 /32 or an IPv6 /64 (one
 * subscriber usually gets a whole /64, so its 2^64 addresses are one client here). Pure, apart
 * from the per-process hash seed (keyed-hash.ts).
 */
import { keyedHash } from './keyed-hash.ts';
import { cidrHolds, type Cidr } from '../client-address.ts';

/** Bytes of a compact address (6 or 18 bytes, port last) that name "one address": /32 or /64. */
export function prefixLength(key: Uint8Array): 4 | 8 {
  return key.length === 6 ? 4 : 8;
}

/** Whether the compact address `key` lies in one of `exempt` (addresses no per-address limit applies to). */
export function isExempt(exempt: readonly Cidr[], key: Uint8Array): boolean {
  const family = key.length === 6 ? 4 : 6;
  for (const c of exempt) if (cidrHolds(c, family, key, 0)) return true;
  return false;
}

/** How many cells CreationBudget hashes addresses into: 512 KiB, whatever the number of addresses. */
const CELLS = 1 << 16;

/**
 * A token bucket per address for the creation of new torrents, as GCRA (one number per bucket:
 * the time at which it would be full again), in a fixed table of cells indexed by a keyed hash of
 * the address. Why cells and not an entry per address: the limiter's own memory must not grow
 * with the number of addresses an attacker uses. Two addresses in one cell share its budget; the
 * seed is secret, so an attacker cannot aim at a victim's cell (k attacking addresses touch a
 * given other address's cell with probability about k / 65,536).
 */
export class CreationBudget {
  /** Per cell: the theoretical arrival time (ms) of the next creation, GCRA's one state variable. */
  private readonly tat = new Float64Array(CELLS);
  /** ms between creations at the sustained rate. */
  private readonly spacing: number;
  /** How far ahead of now a cell may run: a burst of `burst` creations at once. */
  private readonly tolerance: number;

  constructor(perMinute: number, burst: number) {
    this.spacing = 60_000 / perMinute;
    this.tolerance = (Math.max(1, burst) - 1) * this.spacing;
  }

  /** Take one creation from the bucket of compact address `key`; false when it is empty. */
  take(key: Uint8Array, now: number): boolean {
    const cell = keyedHash(key, 0, prefixLength(key)) & (CELLS - 1);
    const t = Math.max(this.tat[cell]!, now);
    if (t - now > this.tolerance) return false;
    this.tat[cell] = t + this.spacing;
    return true;
  }
}
