/**
 * Recognise the one request shape a tracker sees millions of times: an HTTP/1.1 `GET /announce`
 * or `GET /scrape` with no body. Pure: request head text in, a simple request or `null` out.
 * `null` means "not simple": the connection is then handed to Node's full HTTP parser, which
 * answers anything unusual (bodies, HTTP/1.0, odd framing, oversized or malformed heads) the way
 * it always does. So this function only ever has to be right about what it accepts.
 */

export interface SimpleRequest {
  path: '/announce' | '/scrape';
  /** The raw query string, exactly as sent (percent-escapes still in it). */
  query: string;
  /** The client asked to close the connection after the answer. */
  close: boolean;
  /** Every `X-Forwarded-For` header value, in order (undefined when there is none). */
  forwardedFor?: string[];
}

const ANNOUNCE = 'GET /announce';
const SCRAPE = 'GET /scrape';
/** The absolute-form starts (the scheme in any case: RFC 3986 says it is case-insensitive). */
const ABSOLUTE = ['GET http://', 'GET https://'];

/**
 * Could `start` (the first bytes of a request) still become a simple request? Lets the caller
 * hand a connection over at once instead of waiting for the end of a head it will not take.
 */
export function mayBeSimple(start: Buffer): boolean {
  const n = Math.min(start.length, ANNOUNCE.length);
  const text = start.toString('latin1', 0, n);
  if (ANNOUNCE.startsWith(text.slice(0, ANNOUNCE.length)) || SCRAPE.startsWith(text.slice(0, SCRAPE.length))) return true;
  // An absolute-form target: its path comes after a host of any length, so only the head's end tells.
  const lower = text.slice(0, 4) + text.slice(4).toLowerCase();
  return ABSOLUTE.some((a) => lower.startsWith(a) || a.startsWith(lower));
}

/** s[at, at + lower.length) equals `lower` (lower-case ASCII), ignoring the case of its letters. */
function startsWithIgnoreCase(s: string, at: number, lower: string): boolean {
  if (s.length - at < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = s.charCodeAt(at + i);
    const l = lower.charCodeAt(i);
    if (c !== l && !(l >= 0x61 && l <= 0x7a && c === l - 0x20)) return false;
  }
  return true;
}

/**
 * Where the path of the request target s[from, to) starts: at `from` for the origin form
 * (`/path?query`); after the scheme and host for the absolute form (`http://host:port/path?query`,
 * which RFC 9112 3.2.2 says a server must accept; the host is ignored, as it is of Host); -1 for
 * any other target, and for an absolute one without a path.
 */
export function pathStart(s: string, from: number, to: number): number {
  if (s.charCodeAt(from) === 0x2f) return from;
  let at = startsWithIgnoreCase(s, from, 'http://') ? from + 7 : startsWithIgnoreCase(s, from, 'https://') ? from + 8 : -1;
  if (at < 0) return -1;
  for (; at < to; at++) {
    const c = s.charCodeAt(at);
    if (c === 0x2f) return at;
    if (c === 0x3f || c === 0x23) return -1;
  }
  return -1;
}

/** A request target in origin form (`/path?query`), or null when it has no path (see pathStart). */
export function originForm(target: string): string | null {
  const at = pathStart(target, 0, target.length);
  return at < 0 ? null : at === 0 ? target : target.slice(at);
}

/** A line feed not preceded by a carriage return (Node's parser decides what that means). */
export function hasBareLf(b: Buffer): boolean {
  for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) if (i === 0 || b[i - 1] !== 0x0d) return true;
  return false;
}

/** Visible ASCII only in s[from, to) (what a request target may hold unescaped). */
function isVisibleAscii(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** A header value s[from, to): no control characters but tab. */
function isFieldValue(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** 1 for the characters of an RFC 9110 token: visible ASCII but the delimiters. */
const TOKEN_CHAR: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (let c = 0x21; c < 0x7f; c++) t[c] = 1;
  for (const d of '"(),/:;<=>?@[\\]{}') t[d.charCodeAt(0)] = 0;
  return t;
})();

/** A header name s[from, to) (RFC 9110 token). */
function isToken(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || TOKEN_CHAR[c] === 0) return false;
  }
  return true;
}

/** s[from, to) equals `lower` (lower-case ASCII letters and `-`), ignoring ASCII case. Tokens only. */
function nameIs(s: string, from: number, to: number, lower: string): boolean {
  if (to - from !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((s.charCodeAt(from + i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * @param head the request head as latin1 text, without its final CRLF CRLF
 *
 * Walked by index (no split, no substring per header): this runs once per announce.
 */
export function parseSimpleRequest(head: string): SimpleRequest | null {
  let eol = head.indexOf('\r\n');
  if (eol < 0) eol = head.length;
  // The request line: `GET <target> HTTP/1.1`, the target visible ASCII, origin or absolute form.
  if (eol < 14 || !head.startsWith('GET ') || !head.startsWith(' HTTP/1.1', eol - 9)) return null;
  const targetEnd = eol - 9;
  if (!isVisibleAscii(head, 4, targetEnd)) return null;
  const p = pathStart(head, 4, targetEnd);
  if (p < 0) return null;
  let q = head.indexOf('?', p);
  if (q < 0 || q > targetEnd) q = targetEnd;
  const path = q - p === 9 && head.startsWith('/announce', p) ? '/announce' : q - p === 7 && head.startsWith('/scrape', p) ? '/scrape' : null;
  if (path === null) return null;

  let close = false;
  let host = false;
  let sawLength = false;
  let forwardedFor: string[] | undefined;
  // One header line per turn, from after the previous line's CRLF; done when that line was the last.
  for (let pos = eol + 2; eol < head.length; pos = eol + 2) {
    eol = head.indexOf('\r\n', pos);
    if (eol < 0) eol = head.length;
    const colon = head.indexOf(':', pos);
    if (colon < 0 || colon >= eol) return null;
    // A token name, then a value without control characters (so no bare CR or LF either).
    if (!isToken(head, pos, colon) || !isFieldValue(head, colon + 1, eol)) return null;
    // Optional whitespace is spaces and tabs only (String.trim would also take VT, FF, NBSP).
    let a = colon + 1;
    let b = eol;
    while (a < b && isOws(head.charCodeAt(a))) a++;
    while (b > a && isOws(head.charCodeAt(b - 1))) b--;
    switch (colon - pos) {
      case 4:
        if (nameIs(head, pos, colon, 'host')) {
          if (host) return null;
          host = true;
        }
        break;
      case 10:
        if (nameIs(head, pos, colon, 'connection')) {
          for (const token of head.slice(a, b).split(',')) if (token.trim().toLowerCase() === 'close') close = true;
        }
        break;
      case 14:
        if (nameIs(head, pos, colon, 'content-length')) {
          if (b - a !== 1 || head.charCodeAt(a) !== 0x30 || sawLength) return null;
          sawLength = true;
        }
        break;
      case 6:
      case 7:
      case 17:
        if (nameIs(head, pos, colon, 'expect') || nameIs(head, pos, colon, 'upgrade') || nameIs(head, pos, colon, 'transfer-encoding')) return null;
        break;
      case 15:
        if (nameIs(head, pos, colon, 'x-forwarded-for')) (forwardedFor ??= []).push(head.slice(a, b));
        break;
    }
  }
  // HTTP/1.1 requires Host; Node's server answers 400 without it, so let it.
  if (!host) return null;
  return { path, query: q < targetEnd ? head.slice(q + 1, targetEnd) : '', close, ...(forwardedFor ? { forwardedFor } : {}) };
}
