/**
 * The common announce, read in one pass over the raw query without building a parameter map:
 * the tracker's hot path (each announce otherwise allocates a Map, an array and a Buffer view per
 * parameter). Pure.
 *
 * It only ever answers for queries that are plainly valid. Anything unusual (a `%` in a name, an
 * escaped number, a parameter given twice, a missing or malformed field, too many parameters,
 * a character above 0xff) returns null, and the caller falls back to the general parser
 * (parseAnnounceGeneral in announce.ts), which gives the exact error or result. A property test
 * holds the two to the same answers. Reentrant: the field positions are per call.
 */

import type { AnnounceRequest } from './announce.ts';
import { hexDigit } from './query.ts';

/** The announce fields, as AnnounceRequest has them (without the address). */
export type ScannedAnnounce = Omit<AnnounceRequest, 'ip' | 'family'>;

const INFO_HASH = 0;
const PEER_ID = 1;
const PORT = 2;
const UPLOADED = 3;
const DOWNLOADED = 4;
const LEFT = 5;
const EVENT = 6;
const NUMWANT = 7;
const COMPACT = 8;
const NO_PEER_ID = 9;
const IP = 10;
const UNKNOWN = -1;

/** Which field the name raw[start, end) is (names with `%` never get here). */
function fieldOf(raw: string, start: number, end: number): number {
  switch (end - start) {
    case 2:
      return raw.startsWith('ip', start) ? IP : UNKNOWN;
    case 4:
      return raw.startsWith('port', start) ? PORT : raw.startsWith('left', start) ? LEFT : UNKNOWN;
    case 5:
      return raw.startsWith('event', start) ? EVENT : UNKNOWN;
    case 7:
      return raw.startsWith('peer_id', start) ? PEER_ID : raw.startsWith('numwant', start) ? NUMWANT : raw.startsWith('compact', start) ? COMPACT : UNKNOWN;
    case 8:
      return raw.startsWith('uploaded', start) ? UPLOADED : UNKNOWN;
    case 9:
      return raw.startsWith('info_hash', start) ? INFO_HASH : UNKNOWN;
    case 10:
      return raw.startsWith('downloaded', start) ? DOWNLOADED : raw.startsWith('no_peer_id', start) ? NO_PEER_ID : UNKNOWN;
    default:
      return UNKNOWN;
  }
}

/** True if raw[start, end) is well-formed: every `%` starts a full escape, no char above 0xff. */
function wellFormed(raw: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c > 0xff) return false;
    if (c === 0x25) {
      if (i + 2 >= end || hexDigit(raw.charCodeAt(i + 1)) < 0 || hexDigit(raw.charCodeAt(i + 2)) < 0) return false;
      i += 2;
    }
  }
  return true;
}

/**
 * Percent-decode raw[start, end) into exactly 20 bytes of `out` from `at`; false if that is not
 * 20 bytes or an escape is broken or a character is above 0xff.
 */
function decode20(raw: string, start: number, end: number, out: Buffer, at: number): boolean {
  let n = 0;
  for (let i = start; i < end; i++, n++) {
    if (n === 20) return false;
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= end) return false;
      const hi = hexDigit(raw.charCodeAt(i + 1));
      const lo = hexDigit(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return false;
      out[at + n] = (hi << 4) | lo;
      i += 2;
    } else {
      if (c > 0xff) return false;
      out[at + n] = c;
    }
  }
  return n === 20;
}

/** Digits only (1 to 16 of them): the number, or -1 (escapes, signs, empty: the general path decides). */
function digits(raw: string, start: number, end: number): number {
  if (end <= start || end - start > 16) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = raw.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return Number.isSafeInteger(n) ? n : -1;
}

/** A flag's value: 1 (exactly `1`), 0 (anything else plain), -1 (escapes or wide characters: the general path decides). */
function flag(raw: string, at: Positions, field: number): number {
  const s = at[field * 2]!;
  const e = at[field * 2 + 1]!;
  if (s < 0) return 0;
  for (let i = s; i < e; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 || c > 0xff) return -1;
  }
  return e - s === 1 && raw.charCodeAt(s) === 0x31 ? 1 : 0;
}

/** Where each field's value lies in the query: start at 2 x field, end after it; -1 when absent. */
type Positions = number[];

/**
 * The announce in `raw` if it is plainly valid, else null (the general parser then decides).
 * `maxParams` counts every non-empty parameter, as the general parser does. `withIp`: the
 * operator trusts the `ip` parameter, which this scan leaves to the general parser.
 */
export function scanAnnounce(raw: string, maxLength: number, maxParams: number, defaultNumwant: number, maxNumwant: number, withIp: boolean): ScannedAnnounce | null {
  if (raw.length > maxLength || withIp) return null;
  // A literal of small integers: allocated inline, cheaper than a typed array per call.
  const at: Positions = [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1];
  let count = 0;
  for (let start = 0; start < raw.length; ) {
    let end = raw.indexOf('&', start);
    if (end < 0) end = raw.length;
    if (end > start) {
      if (++count > maxParams) return null;
      let eq = raw.indexOf('=', start);
      if (eq < 0 || eq > end) eq = end;
      // A name with escapes or wide characters, or a malformed value: the general parser.
      for (let i = start; i < eq; i++) {
        const c = raw.charCodeAt(i);
        if (c === 0x25 || c > 0xff) return null;
      }
      const valueStart = eq < end ? eq + 1 : end;
      const f = fieldOf(raw, start, eq);
      // A field's own reading below refuses escapes it does not expect; the values of other
      // parameters are only checked for well-formed escapes, as the general parser does.
      if (f === UNKNOWN || f === IP) {
        if (!wellFormed(raw, valueStart, end)) return null;
      } else {
        if (at[f * 2]! >= 0) return null; // given twice: the general parser words the error
        at[f * 2] = valueStart;
        at[f * 2 + 1] = end;
      }
    }
    start = end + 1;
  }

  if (at[INFO_HASH * 2]! < 0 || at[PEER_ID * 2]! < 0 || at[PORT * 2]! < 0 || at[LEFT * 2]! < 0) return null;
  const infoHash = Buffer.allocUnsafe(20);
  const peerId = Buffer.allocUnsafe(20);
  if (!decode20(raw, at[INFO_HASH * 2]!, at[INFO_HASH * 2 + 1]!, infoHash, 0)) return null;
  if (!decode20(raw, at[PEER_ID * 2]!, at[PEER_ID * 2 + 1]!, peerId, 0)) return null;
  const port = digits(raw, at[PORT * 2]!, at[PORT * 2 + 1]!);
  if (port < 1 || port > 65535) return null;
  const left = digits(raw, at[LEFT * 2]!, at[LEFT * 2 + 1]!);
  if (left < 0) return null;
  const uploaded = counterOr(raw, at, UPLOADED, 0);
  const downloaded = counterOr(raw, at, DOWNLOADED, 0);
  const numwant = counterOr(raw, at, NUMWANT, defaultNumwant);
  if (uploaded < 0 || downloaded < 0 || numwant < 0) return null;
  const event = eventOf(raw, at);
  const compact = flag(raw, at, COMPACT);
  const noPeerId = flag(raw, at, NO_PEER_ID);
  if (event === null || compact < 0 || noPeerId < 0) return null;
  return {
    infoHash,
    peerId,
    port,
    uploaded,
    downloaded,
    left,
    event,
    numwant: Math.min(numwant, maxNumwant),
    compact: compact === 1,
    noPeerId: noPeerId === 1,
  };
}

/** An optional counter: `fallback` when absent or empty, -1 when not plain digits. */
function counterOr(raw: string, at: Positions, field: number, fallback: number): number {
  const s = at[field * 2]!;
  const e = at[field * 2 + 1]!;
  return s < 0 || e === s ? fallback : digits(raw, s, e);
}

function eventOf(raw: string, at: Positions): ScannedAnnounce['event'] | null {
  const s = at[EVENT * 2]!;
  if (s < 0) return 'none';
  const e = at[EVENT * 2 + 1]!;
  switch (e - s) {
    case 0:
      return 'none';
    case 5:
      return raw.startsWith('empty', s) ? 'none' : null;
    case 6:
      return raw.startsWith('paused', s) ? 'paused' : null;
    case 7:
      return raw.startsWith('started', s) ? 'started' : raw.startsWith('stopped', s) ? 'stopped' : null;
    case 9:
      return raw.startsWith('completed', s) ? 'completed' : null;
    default:
      return null;
  }
}
