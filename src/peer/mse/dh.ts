/**
 * The Diffie-Hellman half of MSE: the spec's 768-bit prime, generator 2, 96-byte keys, and the
 * SHA-1 derivations built on the shared secret S.
 */
import { createDiffieHellman, createHash, randomBytes, type DiffieHellman } from 'node:crypto';
import { MseError } from './policy.ts';

export const DH_KEY_LENGTH = 96;

export const MSE_PRIME = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD' +
    'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
  'hex',
);
const PRIME_MINUS_ONE = Buffer.from(MSE_PRIME);
PRIME_MINUS_ONE[DH_KEY_LENGTH - 1]! -= 1; // the prime ends in 0x63: no borrow

/**
 * The spec's private key size: 160 bits ("anything beyond 180 bit is not believed to add any
 * further security"); it also halves the exponentiation cost against node's 768-bit default.
 */
const PRIVATE_KEY_BYTES = 20;

/**
 * One DiffieHellman object for the process: creating one runs OpenSSL's primality check on the
 * prime (about 16 ms of CPU here), which a stranger could make us pay per connection. The object
 * is used synchronously, its private key set before each use, so sharing it is safe.
 */
let shared: DiffieHellman | undefined;
function dh(): DiffieHellman {
  shared ??= createDiffieHellman(MSE_PRIME, 2);
  return shared;
}

/** Left-pad a big-endian integer to the 96 bytes the wire carries. */
function pad96(b: Buffer): Buffer {
  if (b.length === DH_KEY_LENGTH) return b;
  const out = Buffer.alloc(DH_KEY_LENGTH);
  b.copy(out, DH_KEY_LENGTH - b.length);
  return out;
}

export interface DhKeyPair {
  /** Y = G^X mod P, 96 bytes. */
  readonly publicKey: Buffer;
  /** S = Y_peer^X mod P, 96 bytes; MseError for a key outside 2..P-2 (a degenerate S). */
  secretWith(peerPublicKey: Buffer): Buffer;
}

export function createKeyPair(privateKey: Buffer = randomBytes(PRIVATE_KEY_BYTES)): DhKeyPair {
  const d = dh();
  d.setPrivateKey(privateKey);
  const publicKey = pad96(d.generateKeys());
  return {
    publicKey,
    secretWith(peer: Buffer): Buffer {
      if (peer.length !== DH_KEY_LENGTH) throw new MseError(`DH key of ${peer.length} bytes`);
      // 0, 1 and P-1 give a secret anyone can guess; >= P is not a residue at all.
      const tooSmall = peer.subarray(0, DH_KEY_LENGTH - 1).every((b) => b === 0) && peer[DH_KEY_LENGTH - 1]! <= 1;
      if (tooSmall || Buffer.compare(peer, PRIME_MINUS_ONE) >= 0) throw new MseError('degenerate DH public key');
      const d2 = dh();
      d2.setPrivateKey(privateKey);
      return pad96(d2.computeSecret(peer));
    },
  };
}

export function sha1(...parts: (string | Buffer)[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HASH('req1', S): the marker the responder synchronises on. */
export const req1Hash = (s: Buffer) => sha1('req1', s);
/** HASH('req2', SKEY): what the obfuscated info hash hides. */
export const req2Hash = (skey: Buffer) => sha1('req2', skey);
const req2Memo = new WeakMap<Buffer, Buffer>();
/**
 * HASH('req2', SKEY) remembered per info-hash Buffer (the caller's long-lived torrent objects):
 * a responder compares against every torrent it serves on each handshake, which would otherwise
 * let a stranger buy N SHA-1s with one DH key.
 */
export function req2HashMemo(skey: Buffer): Buffer {
  let h = req2Memo.get(skey);
  if (!h) req2Memo.set(skey, (h = req2Hash(skey)));
  return h;
}
/** HASH('req3', S): the mask over HASH('req2', SKEY). */
export const req3Hash = (s: Buffer) => sha1('req3', s);

export function xor20(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(20);
  for (let k = 0; k < 20; k++) out[k] = a[k]! ^ b[k]!;
  return out;
}

/** RC4 keys: A (the initiator) encrypts with HASH('keyA', S, SKEY), B with HASH('keyB', S, SKEY). */
export function streamKeys(s: Buffer, skey: Buffer): { keyA: Buffer; keyB: Buffer } {
  return { keyA: sha1('keyA', s, skey), keyB: sha1('keyB', s, skey) };
}
