/**
 * The fast path's request-head reader (src/tracker/fast-request.ts parseSimpleRequest, walked by
 * index) against the plain version it replaced (split into lines, a substring per header), kept
 * here as the reference: the same answer (a simple request, or null to hand the connection to
 * Node) for random heads made of the pieces that matter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSimpleRequest, type SimpleRequest } from '../../../src/tracker/http/fast-request.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

// ---- the reference: the previous implementation, unchanged ----
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
function referenceParse(head: string): SimpleRequest | null {
  const lines = head.split('\r\n');
  const line = lines[0]!;
  if (!line.startsWith('GET ') || !line.endsWith(' HTTP/1.1')) return null;
  const raw = line.slice(4, line.length - 9);
  if (!isVisibleAscii(raw)) return null;
  // Absolute form (RFC 9112 3.2.2): the path and query after `http(s)://host`; it must have a path.
  const absolute = /^https?:\/\/[^/?#]*/i.exec(raw);
  const target = absolute ? raw.slice(absolute[0].length) : raw;
  if (!target.startsWith('/')) return null;
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

// ---- heads ----

const target = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('/announce?info_hash=%12abc&port=1', '/scrape?info_hash=x', '/announce', '/scrape', '/announce?', '/scrape?a?b', 'http://h/announce?info_hash=%12', 'HTTPS://h:1/scrape') },
  { weight: 2, arbitrary: fc.constantFrom('/announcex', '/Announce?x', '/', '/peers?x', '/announce?a b', '/announce?\u00e9', '/announce?\x7f', '/scrape/x', '/announce?x\r\nHost: a', 'http://h', 'http://h?x/announce', 'http://h#/announce', 'http:/h/announce', 'ftp://h/announce', 'http://h/peers', 'http:///announce?x', 'http://a@b/announce') },
);
const version = fc.oneof({ weight: 8, arbitrary: fc.constant(' HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom(' HTTP/1.0', 'HTTP/1.1', ' HTTP/1.1 ', '  HTTP/1.1') });
const method = fc.oneof({ weight: 8, arbitrary: fc.constant('GET ') }, { weight: 1, arbitrary: fc.constantFrom('POST ', 'get ', 'GET', 'GET  ') });
const name = fc.constantFrom('Host', 'host', 'HOST', 'Connection', 'connection', 'Content-Length', 'Transfer-Encoding', 'Expect', 'Upgrade', 'X-Forwarded-For', 'x-forwarded-for', 'User-Agent', 'Accept-Encoding', 'X-Foo', '', 'Bad Name', 'Ho\u00e9st', 'Host\t', 'Kost', 'Connectio', 'content-lengtH');
const value = fc.constantFrom('', ' ', '127.0.0.1:6969', ' close', 'keep-alive', 'Close, foo', 'keep-alive,close ', '0', ' 0 ', '1', '00', '10.0.0.1, 10.0.0.2', '\tvalue\t', 'a\x0bb', 'a\x0cb', 'bad\x01', 'x\ry', 'x\ny', '\u00e9t\u00e9', 'a\x7f');
const benign = fc.constantFrom('User-Agent: wrk', 'Accept-Encoding: gzip', 'Connection: close', 'connection: keep-alive', 'X-Forwarded-For: 10.0.0.1', 'Content-Length: 0', 'Accept: */*');
const header = fc.oneof(
  { weight: 4, arbitrary: benign },
  { weight: 1, arbitrary: fc.tuple(name, fc.constantFrom(':', ': ', ':  ', ' :', ''), value).map(([n, sep, v]) => `${n}${sep}${v}`) },
);
const head = fc
  .tuple(method, target, version, fc.array(header, { maxLength: 4 }), fc.boolean(), fc.constantFrom('', '\r\n', '\n', '\r'))
  .map(([m, t, v, hs, withHost, tail]) => [m + t + v, ...(withHost ? ['Host: 127.0.0.1:6969'] : []), ...hs].join('\r\n') + tail);

test('parseSimpleRequest equals the plain reference (request or hand-over)', () => {
  let taken = 0;
  let runs = 0;
  fc.assert(
    fc.property(head, (h) => {
      runs++;
      const got = parseSimpleRequest(h);
      if (got) taken++;
      assert.deepEqual(got, referenceParse(h));
    }),
    { seed: SEED, numRuns: 20_000 },
  );
  assert.ok(taken > runs / 20, `the reader took ${taken} of ${runs} heads`);
});
