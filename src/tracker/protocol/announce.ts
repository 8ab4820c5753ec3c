/**
 * HTTP tracker protocol (BEP 3, 7, 23, 48), pure: raw query bytes -> typed request,
 * typed response -> bencoded Buffer. Every limit of the tracker lives here, not in middleware.
 */
import net from 'node:net';
import { encode, encodeBinaryKeyDict } from '../../metainfo/bencode.ts';
import { parseRawQuery, QueryError } from './query.ts';
import { scanAnnounce } from './announce-scan.ts';
import { intLength, putBytes, putInt } from './decimal.ts';

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

/** `paused` (BEP 21) and `empty` are plain announces; a missing event is `none`. */
export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'paused' | 'none';

export interface AnnounceRequest {
  infoHash: Buffer;
  peerId: Buffer;
  /** The connection's address, IPv4-mapped IPv6 normalised to IPv4. */
  ip: string;
  family: 4 | 6;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event: AnnounceEvent;
  numwant: number;
  compact: boolean;
  noPeerId: boolean;
}

export class TrackerRequestError extends Error {}

// normaliseAddress's last answer: every announce on a connection brings the same address.
let lastAddress: string | undefined;
let lastNormalised: { ip: string; family: 4 | 6 } = { ip: '', family: 4 };

/** `::ffff:1.2.3.4` -> `1.2.3.4`; anything that is not an IP address is refused. */
export function normaliseAddress(address: string | undefined): { ip: string; family: 4 | 6 } {
  if (address !== undefined && address === lastAddress) return lastNormalised;
  if (!address) throw new TrackerRequestError('no remote address');
  let ip = address;
  if (ip.toLowerCase().startsWith('::ffff:') && net.isIPv4(ip.slice(7))) ip = ip.slice(7);
  const family = net.isIP(ip);
  if (family === 0) throw new TrackerRequestError('remote address is not an IP address');
  lastAddress = address;
  lastNormalised = Object.freeze({ ip, family: family === 4 ? 4 : 6 });
  return lastNormalised;
}

function single(params: Map<string, Buffer[]>, name: string): Buffer | undefined {
  const v = params.get(name);
  if (!v) return undefined;
  if (v.length > 1) throw new TrackerRequestError(`${name} given more than once`);
  return v[0];
}

function exact20(params: Map<string, Buffer[]>, name: string): Buffer {
  const v = single(params, name);
  if (!v) throw new TrackerRequestError(`missing ${name}`);
  if (v.length !== 20) throw new TrackerRequestError(`${name} must be 20 bytes, got ${v.length}`);
  return v;
}

/** A non-negative decimal integer (digits only, at most 2^53 - 1). */
function counter(params: Map<string, Buffer[]>, name: string, fallback?: number): number {
  const v = single(params, name);
  if (v === undefined || v.length === 0) {
    if (fallback === undefined) throw new TrackerRequestError(`missing ${name}`);
    return fallback;
  }
  // 1 to 16 ASCII digits, read from the bytes (no string, no RegExp: this runs 6 times an announce).
  if (v.length > 16) throw new TrackerRequestError(`${name} must be a non-negative integer`);
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v[i]! - 0x30;
    if (d < 0 || d > 9) throw new TrackerRequestError(`${name} must be a non-negative integer`);
    n = n * 10 + d;
  }
  if (!Number.isSafeInteger(n)) throw new TrackerRequestError(`${name} is too large`);
  return n;
}

function rawQueryOrFail(rawQuery: string, maxLength: number, maxParams: number): Map<string, Buffer[]> {
  if (rawQuery.length > maxLength) throw new TrackerRequestError(`query longer than ${maxLength} bytes`);
  try {
    return parseRawQuery(rawQuery, maxParams);
  } catch (e) {
    if (e instanceof QueryError) throw new TrackerRequestError(e.message);
    throw e;
  }
}

// A Map, not an object literal: `event=constructor` must not find Object.prototype's members.
const EVENTS = new Map<string, AnnounceEvent>([
  ['', 'none'],
  ['empty', 'none'],
  ['started', 'started'],
  ['completed', 'completed'],
  ['stopped', 'stopped'],
  ['paused', 'paused'],
]);

/** Parse an announce. Unknown parameters (`key`, `supportcrypto`, `ip`, ...) are ignored. */
export function parseAnnounce(
  rawQuery: string,
  remoteAddress: string | undefined,
  limits: TrackerLimits = DEFAULT_LIMITS,
  opts: { trustIpParam?: boolean } = {},
): AnnounceRequest {
  // The common, plainly valid announce in one pass; anything else through the general parser.
  const s = scanAnnounce(rawQuery, limits.maxAnnounceQuery, limits.maxParams, limits.defaultNumwant, limits.maxNumwant, opts.trustIpParam === true);
  if (s === null) return parseAnnounceGeneral(rawQuery, remoteAddress, limits, opts);
  const { ip, family } = normaliseAddress(remoteAddress);
  return { infoHash: s.infoHash, peerId: s.peerId, ip, family, port: s.port, uploaded: s.uploaded, downloaded: s.downloaded, left: s.left, event: s.event, numwant: s.numwant, compact: s.compact, noPeerId: s.noPeerId };
}

/** parseAnnounce through the parameter map: every query, with the exact error for bad ones. */
export function parseAnnounceGeneral(
  rawQuery: string,
  remoteAddress: string | undefined,
  limits: TrackerLimits = DEFAULT_LIMITS,
  opts: { trustIpParam?: boolean } = {},
): AnnounceRequest {
  const params = rawQueryOrFail(rawQuery, limits.maxAnnounceQuery, limits.maxParams);
  const infoHash = exact20(params, 'info_hash');
  const peerId = exact20(params, 'peer_id');
  const port = counter(params, 'port');
  if (port < 1 || port > 65535) throw new TrackerRequestError('port must be 1..65535');
  const uploaded = counter(params, 'uploaded', 0);
  const downloaded = counter(params, 'downloaded', 0);
  const left = counter(params, 'left');
  const eventRaw = single(params, 'event')?.toString('latin1') ?? '';
  const event = EVENTS.get(eventRaw);
  if (!event) throw new TrackerRequestError('unknown event');
  const numwant = Math.min(counter(params, 'numwant', limits.defaultNumwant), limits.maxNumwant);
  const compact = single(params, 'compact')?.toString('latin1') === '1';
  const noPeerId = single(params, 'no_peer_id')?.toString('latin1') === '1';
  // The `ip` parameter lets anyone register anyone else: used only when the operator says so.
  const ipParam = opts.trustIpParam ? single(params, 'ip')?.toString('latin1') : undefined;
  const { ip, family } = normaliseAddress(ipParam && net.isIP(ipParam) ? ipParam : remoteAddress);
  return { infoHash, peerId, ip, family, port, uploaded, downloaded, left, event, numwant, compact, noPeerId };
}

/** Parse a scrape (BEP 48): zero or more `info_hash`, each exactly 20 bytes, at most the cap. */
export function parseScrape(rawQuery: string, limits: TrackerLimits = DEFAULT_LIMITS): Buffer[] {
  // Room for the allowed info_hashes plus a few other parameters (passkeys and the like).
  const params = rawQueryOrFail(rawQuery, limits.maxScrapeQuery, limits.maxScrapeHashes + limits.maxParams);
  const hashes = params.get('info_hash') ?? [];
  if (hashes.length > limits.maxScrapeHashes) throw new TrackerRequestError(`at most ${limits.maxScrapeHashes} info_hash per scrape`);
  for (const h of hashes) if (h.length !== 20) throw new TrackerRequestError(`info_hash must be 20 bytes, got ${h.length}`);
  return hashes.map((h) => Buffer.from(h));
}

// ---- responses ----

export interface PeerInfo {
  peerId: Buffer;
  ip: string;
  family: 4 | 6;
  port: number;
}

/**
 * The peers picked for one answer, already in wire form: compact bytes per family (BEP 23,
 * BEP 7) and, only when a non-compact list with ids was asked for, their peer_ids (20 bytes
 * each, in the same order). The store writes it straight from its packed records.
 */
export interface PeerSample {
  v4: Buffer;
  v6: Buffer;
  ids4?: Buffer;
  ids6?: Buffer;
}

export interface AnnounceResponse {
  interval: number;
  minInterval: number;
  complete: number;
  incomplete: number;
  peers: PeerSample;
  /** BEP 3 `warning message`: the answer is good, but something is worth telling the user. */
  warning?: string;
}

export interface ScrapeEntry {
  infoHash: Buffer;
  complete: number;
  incomplete: number;
  downloaded: number;
}

export function failureResponse(reason: string): Buffer {
  return encode({ 'failure reason': reason });
}

/**
 * One peer's compact form, written into `out` at `at`: the 4-byte IPv4 or 16-byte IPv6 address,
 * then the big-endian port. Returns the end.
 */
export function compactAddressInto(out: Buffer, at: number, ip: string, family: 4 | 6, port: number): number {
  if (family === 4) {
    // Dotted quad, already validated (net.isIP): digits and dots, read in place.
    let k = at;
    let v = 0;
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      if (c === 0x2e) {
        out[k++] = v;
        v = 0;
      } else {
        v = v * 10 + c - 0x30;
      }
    }
    out[k] = v;
    out[at + 4] = port >>> 8;
    out[at + 5] = port & 0xff;
    return at + 6;
  }
  ipv6Bytes(ip).copy(out, at);
  out[at + 16] = port >>> 8;
  out[at + 17] = port & 0xff;
  return at + 18;
}

/** 6 bytes per IPv4 peer / 18 bytes per IPv6 peer: address then port, big-endian (BEP 23, BEP 7). */
export function compactPeers(peers: PeerInfo[], family: 4 | 6): Buffer {
  let n = 0;
  for (const p of peers) if (p.family === family) n++;
  const out = Buffer.allocUnsafe(n * (family === 4 ? 6 : 18));
  let at = 0;
  for (const p of peers) if (p.family === family) at = compactAddressInto(out, at, p.ip, p.family, p.port);
  return out;
}

/** A sample of the given peers, in their order (for callers that hold PeerInfo objects). */
export function peerSample(peers: PeerInfo[], withIds = true): PeerSample {
  const ids = (family: 4 | 6) => Buffer.concat(peers.filter((p) => p.family === family).map((p) => p.peerId));
  return { v4: compactPeers(peers, 4), v6: compactPeers(peers, 6), ...(withIds ? { ids4: ids(4), ids6: ids(6) } : {}) };
}

/** Dotted-quad text of 4 address bytes. */
export function formatIPv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text of 16 address bytes: lower-case, the longest run of zero groups as `::`. */
export function formatIPv6(b: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1; // a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** The non-compact list form of a sample: `ip` as text, `port`, and `peer id` when kept. */
function peerDicts(sample: PeerSample, noPeerId: boolean): Array<{ [key: string]: Buffer | string | number }> {
  const out: Array<{ [key: string]: Buffer | string | number }> = [];
  const add = (compact: Buffer, ids: Buffer | undefined, size: number) => {
    for (let i = 0, at = 0; at + size <= compact.length; i++, at += size) {
      const ip = size === 6 ? formatIPv4(compact, at) : formatIPv6(compact.subarray(at, at + 16));
      const port = compact.readUInt16BE(at + size - 2);
      out.push(noPeerId || !ids ? { ip, port } : { 'peer id': ids.subarray(i * 20, i * 20 + 20), ip, port });
    }
  };
  add(sample.v4, sample.ids4, 6);
  add(sample.v6, sample.ids6, 18);
  return out;
}

/** 16 bytes of an address that `net.isIPv6` accepted (`::` and a trailing dotted IPv4 allowed). */
export function ipv6Bytes(ip: string): Buffer {
  const groups = expandIPv6(ip.replace(/%.*$/, ''));
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function expandIPv6(ip: string): number[] {
  let s = ip;
  const v4 = s.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    s = s.slice(0, -v4[1]!.length) + (((b[0]! << 8) | b[1]!).toString(16) + ':' + ((b[2]! << 8) | b[3]!).toString(16));
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const fill = tail !== undefined ? new Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

// The compact answer's fixed parts: each key with the bencode around it up to the next value.
const K_COMPLETE = Buffer.from('d8:completei', 'latin1');
const K_INCOMPLETE = Buffer.from('e10:incompletei', 'latin1');
const K_INTERVAL = Buffer.from('e8:intervali', 'latin1');
const K_MIN_INTERVAL = Buffer.from('e12:min intervali', 'latin1');
const K_PEERS = Buffer.from('e5:peers', 'latin1');
const K_PEERS6 = Buffer.from('6:peers6', 'latin1');
const K_WARNING = Buffer.from('15:warning message', 'latin1');

export function encodeAnnounceResponse(r: AnnounceResponse, req: Pick<AnnounceRequest, 'compact' | 'noPeerId'>): Buffer {
  if (req.compact) {
    // The hot path, written out by hand (keys in sorted order, straight into one Buffer): several
    // times faster than a general encoder, and the answer's shape is fixed.
    const { v4, v6 } = r.peers;
    const warning = r.warning === undefined ? undefined : Buffer.from(r.warning, 'utf8');
    const size =
      K_COMPLETE.length + intLength(r.complete) + K_INCOMPLETE.length + intLength(r.incomplete) + K_INTERVAL.length + intLength(r.interval) +
      K_MIN_INTERVAL.length + intLength(r.minInterval) + K_PEERS.length + intLength(v4.length) + 1 + v4.length +
      (v6.length ? K_PEERS6.length + intLength(v6.length) + 1 + v6.length : 0) +
      (warning ? K_WARNING.length + intLength(warning.length) + 1 + warning.length : 0) + 1;
    const out = Buffer.allocUnsafe(size);
    let at = putInt(out, putBytes(out, 0, K_COMPLETE), r.complete);
    at = putInt(out, putBytes(out, at, K_INCOMPLETE), r.incomplete);
    at = putInt(out, putBytes(out, at, K_INTERVAL), r.interval);
    at = putInt(out, putBytes(out, at, K_MIN_INTERVAL), r.minInterval);
    at = putInt(out, putBytes(out, at, K_PEERS), v4.length);
    out[at++] = 0x3a; // ':'
    at = putBytes(out, at, v4);
    if (v6.length) {
      at = putInt(out, putBytes(out, at, K_PEERS6), v6.length);
      out[at++] = 0x3a;
      at = putBytes(out, at, v6);
    }
    if (warning) {
      // Last: keys are in byte order, and 'warning message' sorts after 'peers6'.
      at = putInt(out, putBytes(out, at, K_WARNING), warning.length);
      out[at++] = 0x3a;
      at = putBytes(out, at, warning);
    }
    out[at] = 0x65; // 'e'
    return out;
  }
  return encode({
    interval: r.interval,
    'min interval': r.minInterval,
    complete: r.complete,
    incomplete: r.incomplete,
    peers: peerDicts(r.peers, req.noPeerId),
    ...(r.warning === undefined ? {} : { 'warning message': r.warning }),
  });
}

export function encodeScrapeResponse(entries: ScrapeEntry[]): Buffer {
  const files = encodeBinaryKeyDict(
    entries.map((e) => [e.infoHash, { complete: e.complete, downloaded: e.downloaded, incomplete: e.incomplete }]),
  );
  return Buffer.concat([Buffer.from('d5:files'), files, Buffer.from('e')]);
}
