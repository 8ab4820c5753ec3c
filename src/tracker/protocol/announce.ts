/**
 * The HTTP announce (BEP 3, 7, 23): raw query bytes -> AnnounceRequest. Pure. One parser: a plain
 * announce takes the one-pass scan (announce-scan.ts), anything else the parameter map, which
 * words the exact error.
 */
import net from 'node:net';
import { ipAddress, type IpAddress } from '../../bittorrent/address.ts';
import { DEFAULT_LIMITS, queryParams, TrackerRequestError, type TrackerLimits } from './query.ts';
import { scanAnnounce } from './announce-scan.ts';

/** `paused` (BEP 21) and `empty` are plain announces; a missing event is `none`. */
export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'paused' | 'none';

/** One announce, whatever its transport: what the tracker service takes. */
export interface AnnounceRequest {
  infoHash: Buffer;
  peerId: Buffer;
  /** The peer's address, IPv4-mapped IPv6 normalised to IPv4. */
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

/** The address an announce comes from: as text, or already normalised by the caller. */
export type AnnounceSource = string | IpAddress | undefined;

/** `::ffff:1.2.3.4` -> `1.2.3.4`; anything that is not an IP address is refused. */
export function normaliseAddress(address: string | undefined): IpAddress {
  if (!address) throw new TrackerRequestError('no remote address');
  const a = ipAddress(address);
  if (a === null) throw new TrackerRequestError('remote address is not an IP address');
  return a;
}

function sourceAddress(from: AnnounceSource): IpAddress {
  return typeof from === 'object' ? from : normaliseAddress(from);
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
  // 1 to 20 ASCII digits (a uint64), read from the bytes (no string, no RegExp: this runs 6 times an announce).
  if (v.length > 20) throw new TrackerRequestError(`${name} must be a non-negative integer`);
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v[i]! - 0x30;
    if (d < 0 || d > 9) throw new TrackerRequestError(`${name} must be a non-negative integer`);
    n = n * 10 + d;
  }
  // Counters are statistics: a client that does not know a size yet sends left=2^63-1
  // (Transmission with a magnet link), so anything past 2^53 counts as 2^53 - 1.
  return Math.min(n, Number.MAX_SAFE_INTEGER);
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

/**
 * Parse an announce. Unknown parameters (`key`, `supportcrypto`, `ip`, ...) are ignored.
 * @param from the peer's address (the `ip` parameter replaces it only with `trustIpParam`)
 */
export function parseAnnounce(rawQuery: string, from: AnnounceSource, limits: TrackerLimits = DEFAULT_LIMITS, opts: { trustIpParam?: boolean } = {}): AnnounceRequest {
  const s = scanAnnounce(rawQuery, limits.maxAnnounceQuery, limits.maxParams, limits.defaultNumwant, limits.maxNumwant, opts.trustIpParam === true);
  if (s === null) return parseAnnounceGeneral(rawQuery, from, limits, opts);
  const { ip, family } = sourceAddress(from);
  return { infoHash: s.infoHash, peerId: s.peerId, ip, family, port: s.port, uploaded: s.uploaded, downloaded: s.downloaded, left: s.left, event: s.event, numwant: s.numwant, compact: s.compact, noPeerId: s.noPeerId };
}

/** parseAnnounce's general case, through the parameter map: every query, with the exact error for bad ones. */
export function parseAnnounceGeneral(rawQuery: string, from: AnnounceSource, limits: TrackerLimits = DEFAULT_LIMITS, opts: { trustIpParam?: boolean } = {}): AnnounceRequest {
  const params = queryParams(rawQuery, limits.maxAnnounceQuery, limits.maxParams);
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
  const { ip, family } = ipParam && net.isIP(ipParam) ? normaliseAddress(ipParam) : sourceAddress(from);
  return { infoHash, peerId, ip, family, port, uploaded, downloaded, left, event, numwant, compact, noPeerId };
}
