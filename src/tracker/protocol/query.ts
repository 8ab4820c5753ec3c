/**
 * Raw query-string decoding to bytes, and the limits every tracker request is held to. Pure.
 *
 * `info_hash` and `peer_id` are 20 raw bytes, percent-encoded byte by byte. A framework's query
 * parser decodes to UTF-8 text (and turns `+` into a space), which corrupts them, so the raw query
 * is decoded here: `%XX` (either case) becomes one byte, every other byte stands for itself.
 */

import type { FailureReason } from '../metrics/stats.ts';

export class QueryError extends Error {}

/** A request the tracker refuses: answered with a bencoded `failure reason` (or a UDP error). */
export class TrackerRequestError extends Error {
  /** The refusal's kind, for the metrics (the message goes to the client). */
  readonly reason: FailureReason = 'bad_request';
}

export interface TrackerLimits {
  /** Longest raw announce query accepted, in bytes. */
  maxAnnounceQuery: number;
  /** Longest raw scrape query accepted, in bytes. */
  maxScrapeQuery: number;
  /** Most info_hashes in one scrape. */
  maxScrapeHashes: number;
  /** Most query parameters in an announce. */
  maxParams: number;
  defaultNumwant: number;
  maxNumwant: number;
}

export const DEFAULT_LIMITS: TrackerLimits = {
  maxAnnounceQuery: 4096,
  maxScrapeQuery: 16384,
  maxScrapeHashes: 100,
  maxParams: 64,
  defaultNumwant: 50,
  maxNumwant: 200,
};

/** parseRawQuery within a length and a parameter count, its errors as TrackerRequestError. */
export function queryParams(rawQuery: string, maxLength: number, maxParams: number): Map<string, Buffer[]> {
  if (rawQuery.length > maxLength) throw new TrackerRequestError(`query longer than ${maxLength} bytes`);
  try {
    return parseRawQuery(rawQuery, maxParams);
  } catch (e) {
    if (e instanceof QueryError) throw new TrackerRequestError(e.message);
    throw e;
  }
}

const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** The value of hex digit `c` (a char code, either case), or -1 (any other code, wide ones too). */
export function hexDigit(c: number): number {
  return c <= 0xff ? HEX[c]! : -1;
}

/**
 * Percent-decode s[from, to) into `out` from `at`; returns the end offset. `out` needs
 * to - from bytes. An escape must be complete inside the range.
 */
function percentDecodeInto(s: string, from: number, to: number, out: Buffer, at: number): number {
  let n = at;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const c1 = i + 1 < to ? s.charCodeAt(i + 1) : 0x100;
      const c2 = i + 2 < to ? s.charCodeAt(i + 2) : 0x100;
      const hi = hexDigit(c1);
      const lo = hexDigit(c2);
      if (hi < 0 || lo < 0) throw new QueryError('invalid percent-encoding in the query');
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
  return out.subarray(0, percentDecodeInto(s, 0, s.length, out, 0));
}

/**
 * Split a raw query string (without `?`) into parameters, each name mapped to all its values as
 * bytes in order of appearance. Names are decoded to latin1 text. Every value is a view into one
 * buffer decoded for the whole query (one allocation per request, not one per parameter), and
 * the query is walked by index (no substring per parameter): this runs once per announce.
 */
export function parseRawQuery(raw: string, maxParams: number): Map<string, Buffer[]> {
  const params = new Map<string, Buffer[]>();
  if (raw.length === 0) return params;
  const bytes = Buffer.allocUnsafe(raw.length);
  let used = 0;
  let count = 0;
  for (let start = 0; start <= raw.length; ) {
    let end = raw.indexOf('&', start);
    if (end < 0) end = raw.length;
    if (end > start) {
      if (++count > maxParams) throw new QueryError(`more than ${maxParams} query parameters`);
      let eq = raw.indexOf('=', start);
      if (eq >= end) eq = -1;
      let name = raw.slice(start, eq < 0 ? end : eq);
      if (name.includes('%')) name = percentDecode(name).toString('latin1');
      else for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0xff) throw new QueryError('non-ASCII character in the query');
      const from = used;
      if (eq >= 0) used = percentDecodeInto(raw, eq + 1, end, bytes, used);
      const value = bytes.subarray(from, used);
      const list = params.get(name);
      if (list) list.push(value);
      else params.set(name, [value]);
    }
    start = end + 1;
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
