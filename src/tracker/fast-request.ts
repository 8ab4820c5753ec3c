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

/**
 * Could `start` (the first bytes of a request) still become a simple request? Lets the caller
 * hand a connection over at once instead of waiting for the end of a head it will not take.
 */
export function mayBeSimple(start: Buffer): boolean {
  const n = Math.min(start.length, ANNOUNCE.length);
  const text = start.toString('latin1', 0, n);
  if (ANNOUNCE.startsWith(text)) return true;
  const m = Math.min(n, SCRAPE.length);
  return SCRAPE.startsWith(text.slice(0, m));
}

/** A line feed not preceded by a carriage return (Node's parser decides what that means). */
export function hasBareLf(b: Buffer): boolean {
  for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) if (i === 0 || b[i - 1] !== 0x0d) return true;
  return false;
}

/** Visible ASCII only (what a request target may hold unescaped). */
function isVisibleAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** A header value: no control characters but tab. */
function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
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

/** A header name (RFC 9110 token). */
function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || TOKEN_CHAR[c] === 0) return false;
  }
  return true;
}

/** Without leading and trailing spaces and tabs (HTTP's optional whitespace, nothing else). */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** @param head the request head as latin1 text, without its final CRLF CRLF */
export function parseSimpleRequest(head: string): SimpleRequest | null {
  const lines = head.split('\r\n');
  const line = lines[0]!;
  if (!line.startsWith('GET /') || !line.endsWith(' HTTP/1.1')) return null;
  const target = line.slice(4, line.length - 9);
  if (!isVisibleAscii(target)) return null;
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (path !== '/announce' && path !== '/scrape') return null;

  let close = false;
  let host = false;
  let sawLength = false;
  let forwardedFor: string[] | undefined;
  for (let i = 1; i < lines.length; i++) {
    const h = lines[i]!;
    if (h.includes('\n') || h.includes('\r')) return null; // bare CR or LF: Node decides
    const colon = h.indexOf(':');
    if (colon <= 0) return null;
    const name = h.slice(0, colon);
    if (!isToken(name)) return null;
    const rawValue = h.slice(colon + 1);
    if (!isFieldValue(rawValue)) return null;
    // Optional whitespace is spaces and tabs only (String.trim would also take VT, FF, NBSP).
    const value = trimOws(rawValue);
    switch (name.toLowerCase()) {
      case 'host':
        if (host) return null;
        host = true;
        break;
      case 'connection':
        for (const token of value.split(',')) if (token.trim().toLowerCase() === 'close') close = true;
        break;
      case 'content-length':
        if (value !== '0' || sawLength) return null;
        sawLength = true;
        break;
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
        return null;
      case 'x-forwarded-for':
        (forwardedFor ??= []).push(value);
        break;
    }
  }
  // HTTP/1.1 requires Host; Node's server answers 400 without it, so let it.
  if (!host) return null;
  return { path, query: q < 0 ? '' : target.slice(q + 1), close, ...(forwardedFor ? { forwardedFor } : {}) };
}
