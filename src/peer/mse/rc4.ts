/**
 * RC4 in TypeScript: Node's OpenSSL 3 keeps RC4 in the legacy provider, which is not loaded by
 * default, so MSE cannot count on `crypto.createCipheriv('rc4')`.
 */

/** MSE drops the first 1024 bytes of each keystream (its answer to RC4's biased opening bytes). */
export const MSE_KEYSTREAM_DISCARD = 1024;

/** One RC4 keystream. Encryption and decryption are the same XOR, so one method does both. */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array, discard = 0) {
    if (key.length < 1 || key.length > 256) throw new RangeError(`RC4 key of ${key.length} bytes (1-256)`);
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      const sk = s[k]!;
      j = (j + sk + key[k % key.length]!) & 255;
      s[k] = s[j]!;
      s[j] = sk;
    }
    if (discard > 0) this.skip(discard);
  }

  /** XOR the keystream into `src` and write the result to `dst` (which may be `src` itself). */
  xorInto(src: Uint8Array, dst: Uint8Array, dstOffset = 0): void {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    const n = src.length;
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 255;
      const si = s[i]!;
      j = (j + si) & 255;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      dst[dstOffset + k] = src[k]! ^ s[(si + sj) & 255]!;
    }
    this.i = i;
    this.j = j;
  }

  /** Encrypt or decrypt in place: for buffers this code owns (a chunk just read from a socket). */
  inPlace(data: Uint8Array): void {
    this.xorInto(data, data);
  }

  /** Encrypt or decrypt into a new Buffer, leaving `data` untouched (it may be shared). */
  copy(data: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(data.length);
    this.xorInto(data, out);
    return out;
  }

  /** Advance the keystream by `n` bytes without output. */
  skip(n: number): void {
    const scratch = new Uint8Array(Math.min(n, 4096));
    for (let left = n; left > 0; left -= scratch.length) {
      const part = left >= scratch.length ? scratch : scratch.subarray(0, left);
      this.xorInto(part, part);
    }
  }
}

/** The keystream MSE uses for one direction: RC4 keyed with a 20-byte SHA-1, 1024 bytes dropped. */
export function mseRc4(key: Uint8Array): Rc4 {
  return new Rc4(key, MSE_KEYSTREAM_DISCARD);
}
