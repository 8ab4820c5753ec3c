/**
 * A hash of a few bytes for the store's open-addressing tables, keyed by a random per-process
 * seed. Why keyed: info_hashes, ports and IPv6 addresses are chosen by clients, and with a fixed,
 * public hash an attacker can pick thousands of keys that share one probe chain, turning every
 * announce into a walk of the whole table (hash flooding). With a secret seed, keys that collide
 * cannot be chosen in advance. Pure, apart from the seed drawn at load.
 */
import { randomBytes } from 'node:crypto';

const SEED = randomBytes(4).readUInt32LE(0);

/** A 32-bit hash of b[at, at + len), seeded (murmur3-style mixing per byte, then a finaliser). */
export function keyedHash(b: Uint8Array, at: number, len: number): number {
  let h = SEED ^ len;
  for (let i = 0; i < len; i++) {
    h = Math.imul(h ^ b[at + i]!, 0x5bd1e995);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
