/**
 * Raw query-string decoding to bytes.
 *
 * `info_hash` and `peer_id` are 20 raw bytes, percent-encoded byte by byte. A framework's query
 * parser decodes to UTF-8 text (and turns `+` into a space), which corrupts them, so the raw query
 * is decoded here: `%XX` (either case) becomes one byte, every other byte stands for itself.
 */

export class QueryError extends Error {}

const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** Percent-decode `s` into `out` from `at`; returns the end offset. `out` needs s.length bytes. */
function percentDecodeInto(s: string, out: Buffer, at: number): number {
  let n = at;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hi = HEX[s.charCodeAt(i + 1) & 0xff] ?? -1;
      const lo = HEX[s.charCodeAt(i + 2) & 0xff] ?? -1;
      if (i + 2 >= s.length || hi < 0 || lo < 0 || s.charCodeAt(i + 1) > 0xff || s.charCodeAt(i + 2) > 0xff) {
        throw new QueryError('invalid percent-encoding in the query');
      }
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else {
      if (c > 0xff) throw new QueryError('non-ASCII character in the query');
      out[n++] = c;
    }
  }
  return n;
}

/** Percent-decode `s` (a latin1/ASCII string as it came off the wire) to bytes. */
export function percentDecode(s: string): Buffer {
  const out = Buffer.allocUnsafe(s.length);
  return out.subarray(0, percentDecodeInto(s, out, 0));
}

/**
 * Split a raw query string (without `?`) into parameters, each name mapped to all its values as
 * bytes in order of appearance. Names are decoded to latin1 text. Every value is a view into one
 * buffer decoded for the whole query (one allocation per request, not one per parameter).
 */
export function parseRawQuery(raw: string, maxParams: number): Map<string, Buffer[]> {
  const params = new Map<string, Buffer[]>();
  if (raw.length === 0) return params;
  const bytes = Buffer.allocUnsafe(raw.length);
  let used = 0;
  let count = 0;
  for (const part of raw.split('&')) {
    if (part.length === 0) continue;
    if (++count > maxParams) throw new QueryError(`more than ${maxParams} query parameters`);
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    let name = rawName;
    if (rawName.includes('%')) name = percentDecode(rawName).toString('latin1');
    else for (let i = 0; i < rawName.length; i++) if (rawName.charCodeAt(i) > 0xff) throw new QueryError('non-ASCII character in the query');
    const start = used;
    if (eq >= 0) used = percentDecodeInto(part.slice(eq + 1), bytes, used);
    const value = bytes.subarray(start, used);
    const list = params.get(name);
    if (list) list.push(value);
    else params.set(name, [value]);
  }
  return params;
}

/** Percent-encode bytes for a query string: unreserved characters stay literal (RFC 3986). */
export function percentEncode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    s += unreserved ? String.fromCharCode(b) : '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return s;
}
