/**
 * Decimal numbers written as ASCII straight into a Buffer: the tracker's answers (bencoded
 * integers and lengths, Content-Length) are built in place instead of through template strings,
 * which cost a string, its flattening and a copy per answer on the hot path. Pure.
 */

/** Decimal digits of a non-negative safe integer. */
export function intLength(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Write the decimal digits of a non-negative safe integer at `at`; returns the end. */
export function putInt(out: Uint8Array, at: number, n: number): number {
  const end = at + intLength(n);
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/** Copy `b` to `at`; returns the end. */
export function putBytes(out: Uint8Array, at: number, b: Uint8Array): number {
  out.set(b, at);
  return at + b.length;
}
