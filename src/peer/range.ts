/**
 * HTTP `Range` (RFC 9110), pure. One range only: a multi-range request is refused (416) rather
 * than answered with a multipart body.
 */
export type RangeResult =
  | { kind: 'none' }
  | { kind: 'range'; start: number; end: number } // inclusive end
  | { kind: 'unsatisfiable' }
  | { kind: 'invalid' };

const NUM = /^\d{1,16}$/;

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const h = header.trim();
  if (!h.toLowerCase().startsWith('bytes=')) return { kind: 'none' }; // unknown unit: ignore (RFC 9110)
  const spec = h.slice(6).trim();
  if (spec.includes(',')) return { kind: 'unsatisfiable' };
  const dash = spec.indexOf('-');
  if (dash < 0) return { kind: 'invalid' };
  const a = spec.slice(0, dash).trim();
  const b = spec.slice(dash + 1).trim();
  if (a === '') {
    if (!NUM.test(b)) return { kind: 'invalid' };
    const n = Number(b);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  if (!NUM.test(a) || (b !== '' && !NUM.test(b))) return { kind: 'invalid' };
  const start = Number(a);
  if (b !== '' && Number(b) < start) return { kind: 'invalid' };
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = b === '' ? size - 1 : Number(b);
  return { kind: 'range', start, end: Math.min(end, size - 1) };
}
