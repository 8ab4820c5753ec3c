/**
 * What a connection's opening bytes are, for the one-port sniffer: a plain BitTorrent handshake,
 * an HTTP request, or (anything else) an MSE opening, whose first 96 bytes are a random-looking
 * DH key and so match no fixed pattern.
 */

export type Opening = 'bittorrent' | 'http' | 'mse' | 'more';

/** Byte 19 then the protocol name: a random MSE key starts so with odds of 2^-160. */
const BT_PREFIX = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol', 'latin1')]);

/**
 * Methods our HTTP side may see, each with its space. A fixed list rather than "letters then a
 * space": random MSE keys match the general form about once in 2,500 connections, a listed
 * method once in 2^32.
 */
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT'].map((m) => Buffer.from(`${m} `, 'latin1'));

/** How far `bytes` agrees with `pattern`: 'match', 'prefix' (too short to tell) or 'no'. */
function compare(bytes: Buffer, pattern: Buffer): 'match' | 'prefix' | 'no' {
  const n = Math.min(bytes.length, pattern.length);
  if (bytes.compare(pattern, 0, n, 0, n) !== 0) return 'no';
  return bytes.length >= pattern.length ? 'match' : 'prefix';
}

/**
 * Classify the bytes received so far. 'more' means too few to tell; it is never returned once
 * 20 bytes are in (every plain or HTTP opening is decided by then), and every real client sends
 * at least that much before it waits for an answer (68 bytes of handshake, a request line, or 96
 * bytes of DH key), so waiting for more cannot deadlock.
 */
export function classifyOpening(bytes: Buffer): Opening {
  if (bytes.length === 0) return 'more';
  let undecided = false;
  for (const pattern of [BT_PREFIX, ...HTTP_METHODS]) {
    const c = compare(bytes, pattern);
    if (c === 'match') return pattern === BT_PREFIX ? 'bittorrent' : 'http';
    if (c === 'prefix') undecided = true;
  }
  return undecided ? 'more' : 'mse';
}
