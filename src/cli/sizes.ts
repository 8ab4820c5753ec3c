/** Parse a byte size such as `262144`, `256K`, `1M`, `1MiB`; null if it is not one. */
export function parseByteSize(text: string): number | null {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(text.trim());
  if (!m) return null;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : null;
}
