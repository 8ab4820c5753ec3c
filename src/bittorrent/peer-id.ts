import { randomBytes } from 'node:crypto';

/** Azureus-style client prefix: `-NB0001-` (NB = this Node BitTorrent peer, version 0.0.0.1). */
export const PEER_ID_PREFIX = '-NB0001-';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A fresh 20-byte peer_id: our prefix and 12 random URL-safe characters. */
export function newPeerId(): Buffer {
  const rnd = randomBytes(12);
  let tail = '';
  for (const b of rnd) tail += ALPHABET[b % ALPHABET.length];
  return Buffer.from(PEER_ID_PREFIX + tail, 'latin1');
}

/** Is this peer_id one of ours (any version)? */
export function isOurPeerId(id: Buffer): boolean {
  return id.length === 20 && id.subarray(0, 3).toString('latin1') === '-NB' && id[7] === 0x2d;
}
