/**
 * Magnet links (BEP 9): `magnet:?xt=urn:btih:<40 hex | 32 base32>&dn=&tr=&ws=&x.pe=`. Pure and
 * bounded: a magnet is pasted from anywhere, so its length, the count of each parameter, its
 * escapes and its hash are checked, and any fault is one MagnetError line for the user.
 */
import net from 'node:net';

/** Longest magnet accepted: real ones with dozens of trackers stay under 4 KiB. */
export const MAX_MAGNET_LENGTH = 8 * 1024;
/** Most parameters in all, and most `tr`, `ws`, `x.pe` each. */
const MAX_PARAMS = 256;
const MAX_PER_KIND = { tr: 64, ws: 32, 'x.pe': 64 } as const;
const MAX_NAME_BYTES = 1024;

export class MagnetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MagnetError';
  }
}

export interface MagnetPeer {
  ip: string;
  port: number;
}

export interface MagnetLink {
  infoHash: Buffer;
  infoHashHex: string;
  /** `dn`: a display name only; the real name comes with the metadata. */
  name: string | undefined;
  /** `tr`: http(s) and udp trackers, in order, duplicates dropped. */
  trackers: string[];
  /** `ws`: BEP 19 web seeds (http(s)). */
  webSeeds: string[];
  /** `x.pe`: peer addresses to dial at once. */
  peers: MagnetPeer[];
}

/** Is this text a magnet link (rather than a path to a .torrent)? */
export function looksLikeMagnet(text: string): boolean {
  return /^magnet:/i.test(text.trim());
}

/** Percent-decode strictly: `%` must be followed by two hex digits, and the bytes must be UTF-8. */
function unescape(raw: string, what: string, plusIsSpace: boolean): string {
  const bad = /%(?![0-9a-fA-F]{2})/.exec(raw);
  if (bad) throw new MagnetError(`bad %-escape in ${what}: ${JSON.stringify(raw.slice(bad.index, bad.index + 3))}`);
  try {
    return decodeURIComponent(plusIsSpace ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    throw new MagnetError(`${what} is not valid UTF-8 once %-decoded`);
  }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32ToBytes(s: string): Buffer {
  const out = Buffer.alloc(20);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const ch of s.toUpperCase()) {
    const v = BASE32.indexOf(ch);
    if (v < 0) throw new MagnetError(`info hash ${JSON.stringify(s)} is not base32`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[at++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}

/** `urn:btih:` + 40 hex digits or 32 base32 characters -> the 20-byte info hash. */
function parseBtih(xt: string): Buffer | undefined {
  const m = /^urn:btih:(.*)$/i.exec(xt);
  if (!m) return undefined;
  const h = m[1]!;
  if (/^[0-9a-fA-F]{40}$/.test(h)) return Buffer.from(h, 'hex');
  if (h.length === 32) return base32ToBytes(h);
  throw new MagnetError(`info hash ${JSON.stringify(h.slice(0, 64))} must be 40 hex digits or 32 base32 characters`);
}

/** `host:port` or `[v6]:port`, with an IP literal (no name lookups for a pasted link). */
function parsePeer(v: string): MagnetPeer {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(v) ?? /^([0-9.]+):(\d{1,5})$/.exec(v);
  const ip = m?.[1];
  const port = Number(m?.[2]);
  if (!ip || net.isIP(ip) === 0 || !(port >= 1 && port <= 65535)) throw new MagnetError(`x.pe ${JSON.stringify(v.slice(0, 100))} is not an IP:port address`);
  return { ip, port };
}

function urlWithScheme(v: string, schemes: RegExp): string | undefined {
  try {
    return schemes.test(new URL(v).protocol) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Split the query into (key, raw value) pairs, bounded in count. */
function params(uri: string): Array<[string, string]> {
  if (uri.length > MAX_MAGNET_LENGTH) throw new MagnetError(`magnet link of ${uri.length} characters (at most ${MAX_MAGNET_LENGTH})`);
  const m = /^magnet:\?(.*)$/is.exec(uri.trim());
  if (!m) throw new MagnetError('not a magnet link (it must start with "magnet:?")');
  const parts = m[1]!.split('&').filter((p) => p.length > 0);
  if (parts.length > MAX_PARAMS) throw new MagnetError(`magnet link with ${parts.length} parameters (at most ${MAX_PARAMS})`);
  return parts.map((p) => {
    const eq = p.indexOf('=');
    const key = unescape(eq < 0 ? p : p.slice(0, eq), 'a parameter name', false).toLowerCase();
    return [key.replace(/\.\d+$/, ''), eq < 0 ? '' : p.slice(eq + 1)]; // tr.1= is tr=
  });
}

/** Parse a magnet link; throws a MagnetError with one line saying what is wrong. */
export function parseMagnet(uri: string): MagnetLink {
  let infoHash: Buffer | undefined;
  let sawV2 = false;
  let name: string | undefined;
  const lists = { tr: [] as string[], ws: [] as string[], 'x.pe': [] as string[] };
  for (const [key, raw] of params(uri)) {
    if (key === 'xt') {
      const xt = unescape(raw, 'xt', false);
      if (/^urn:btmh:/i.test(xt)) sawV2 = true;
      const h = parseBtih(xt);
      if (h && infoHash && !h.equals(infoHash)) throw new MagnetError('magnet link names two different info hashes');
      infoHash ??= h;
    } else if (key === 'dn') {
      const dn = unescape(raw, 'dn', true);
      if (Buffer.byteLength(dn) > MAX_NAME_BYTES) throw new MagnetError(`dn is longer than ${MAX_NAME_BYTES} bytes`);
      name ??= dn;
    } else if (key === 'tr' || key === 'ws' || key === 'x.pe') {
      if (lists[key].length >= MAX_PER_KIND[key]) throw new MagnetError(`magnet link with more than ${MAX_PER_KIND[key]} "${key}" parameters`);
      lists[key].push(unescape(raw, key, false));
    }
  }
  if (!infoHash) throw new MagnetError(sawV2 ? 'v2-only magnet link (urn:btmh, BEP 52) is not supported' : 'magnet link has no xt=urn:btih:<info hash>');
  const unique = (a: Array<string | undefined>) => [...new Set(a.filter((u): u is string => u !== undefined))];
  const peers = new Map(lists['x.pe'].map(parsePeer).map((p) => [`${p.ip}|${p.port}`, p]));
  return {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    name,
    trackers: unique(lists.tr.map((u) => urlWithScheme(u, /^(https?|udp):$/i))),
    webSeeds: unique(lists.ws.map((u) => urlWithScheme(u, /^https?:$/i))),
    peers: [...peers.values()],
  };
}

/** A magnet link for a torrent: hex info hash, name, trackers (`tr`), web seeds (`ws`), peers (`x.pe`). */
export function formatMagnet(infoHash: Buffer | string, name: string | undefined, trackers: readonly string[] = [], webSeeds: readonly string[] = [], peers: readonly MagnetPeer[] = []): string {
  const hex = typeof infoHash === 'string' ? infoHash.toLowerCase() : infoHash.toString('hex');
  const parts = [`xt=urn:btih:${hex}`];
  if (name !== undefined) parts.push(`dn=${encodeURIComponent(name)}`);
  for (const t of trackers) parts.push(`tr=${encodeURIComponent(t)}`);
  for (const w of webSeeds) parts.push(`ws=${encodeURIComponent(w)}`);
  for (const p of peers) parts.push(`x.pe=${net.isIPv6(p.ip) ? `[${p.ip}]` : p.ip}:${p.port}`);
  return `magnet:?${parts.join('&')}`;
}
