/**
 * Peer exchange (BEP 11, `ut_pex`), pure: the message body both ways. A bencoded dict of compact
 * peer lists: `added` (6 bytes per IPv4 peer) with one flag byte each in `added.f`, `dropped`, and
 * the IPv6 forms `added6` / `added6.f` / `dropped6` (18 bytes per peer). The body comes from a
 * stranger: our bounded decoder with tight limits, and at most MAX_PEX_TAKE added and as many
 * dropped peers read, whatever the message holds (the wire parser already caps it at 128 KiB).
 */
import net from 'node:net';
import { decode, encode, isBytes, isDict, type BDict, type BValue } from '../../metainfo/bencode.ts';
import { compactAddressInto, formatIPv4, formatIPv6 } from '../../bittorrent/address.ts';
import { WireError } from './messages.ts';

/** BEP 11: at most this many added, and as many dropped, in one message we send. */
export const MAX_PEX_SEND = 50;
/** At most this many added (IPv4 and IPv6 together), and as many dropped, are read from one message. */
export const MAX_PEX_TAKE = 200;
/** A PEX dict has six keys; a few unknown extra ones are tolerated, nesting is not needed. */
const LIMITS = { maxDepth: 4, maxTokens: 256 };

/** BEP 11 `added.f` bits. */
export const PEX_FLAGS = { encryption: 0x01, seed: 0x02, utp: 0x04, holepunch: 0x08, reachable: 0x10 } as const;

export interface PexPeer {
  /** IPv4 dotted quad or IPv6 text (RFC 5952 when decoded). */
  ip: string;
  port: number;
  /** `added.f` bits (PEX_FLAGS); 0 when the sender gave none. */
  flags: number;
}

export interface PexMessage {
  added: PexPeer[];
  dropped: PexPeer[];
}

export interface DecodedPex extends PexMessage {
  /** Peers left unread beyond MAX_PEX_TAKE. */
  cut: number;
}

/** Encode at most MAX_PEX_SEND added and MAX_PEX_SEND dropped peers; more is a caller's bug. */
export function encodePex(m: PexMessage): Buffer {
  if (m.added.length > MAX_PEX_SEND || m.dropped.length > MAX_PEX_SEND) {
    throw new RangeError(`a PEX message carries at most ${MAX_PEX_SEND} added and ${MAX_PEX_SEND} dropped peers`);
  }
  const [added4, added6] = byFamily(m.added);
  const [dropped4, dropped6] = byFamily(m.dropped);
  return encode({
    added: compact(added4, 4),
    'added.f': flagBytes(added4),
    added6: compact(added6, 6),
    'added6.f': flagBytes(added6),
    dropped: compact(dropped4, 4),
    dropped6: compact(dropped6, 6),
  });
}

function byFamily(peers: PexPeer[]): [PexPeer[], PexPeer[]] {
  const v4: PexPeer[] = [];
  const v6: PexPeer[] = [];
  for (const p of peers) {
    const family = net.isIP(p.ip);
    if (family === 0 || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) throw new RangeError(`not a peer address: ${p.ip} port ${p.port}`);
    (family === 4 ? v4 : v6).push(p);
  }
  return [v4, v6];
}

function compact(peers: PexPeer[], family: 4 | 6): Buffer {
  const size = family === 4 ? 6 : 18;
  const out = Buffer.alloc(peers.length * size);
  peers.forEach((p, i) => compactAddressInto(out, i * size, p.ip, family, p.port));
  return out;
}

function flagBytes(peers: PexPeer[]): Buffer {
  return Buffer.from(peers.map((p) => p.flags & 0xff));
}

/**
 * Decode a received PEX body. Not bencode, not a dict, too deep or too many values, or a compact
 * list whose length is not a whole number of entries: a WireError (the connection closes).
 * Peers beyond MAX_PEX_TAKE are cut, not refused; entries no one can dial are skipped.
 */
export function decodePex(payload: Buffer): DecodedPex {
  let d: BValue;
  try {
    d = decode(payload, LIMITS);
  } catch (e) {
    throw new WireError(`bad PEX message: ${(e as Error).message}`);
  }
  if (!isDict(d)) throw new WireError('PEX message is not a dictionary');
  const out: DecodedPex = { added: [], dropped: [], cut: 0 };
  out.cut += readList(d, 'added', 'added.f', 4, out.added);
  out.cut += readList(d, 'added6', 'added6.f', 6, out.added);
  out.cut += readList(d, 'dropped', undefined, 4, out.dropped);
  out.cut += readList(d, 'dropped6', undefined, 6, out.dropped);
  return out;
}

/** Append the peers of `d[key]` to `into` (up to MAX_PEX_TAKE in all); returns how many were cut. */
function readList(d: BDict, key: string, flagsKey: string | undefined, family: 4 | 6, into: PexPeer[]): number {
  const list = d[key];
  if (list === undefined) return 0;
  if (!isBytes(list)) throw new WireError(`PEX ${key} is not a byte string`);
  const size = family === 4 ? 6 : 18;
  if (list.length % size !== 0) throw new WireError(`PEX ${key} is ${list.length} bytes, not a multiple of ${size}`);
  const flagsValue = flagsKey === undefined ? undefined : d[flagsKey];
  const count = list.length / size;
  // Flags only count when there is one per peer (BEP 11); otherwise they are ignored.
  const flags = isBytes(flagsValue) && flagsValue.length === count ? flagsValue : undefined;
  const room = Math.max(0, MAX_PEX_TAKE - into.length);
  const take = Math.min(count, room);
  for (let i = 0; i < take; i++) {
    const at = i * size;
    const port = list.readUInt16BE(at + size - 2);
    // Port 0, 0.0.0.0/8, ::, multicast and reserved addresses are no peers: nobody is dialled there.
    if (port === 0 || (family === 4 ? list[at] === 0 || list[at]! >= 224 : list[at] === 0xff || list.subarray(at, at + 16).every((b) => b === 0))) continue;
    const ip = family === 4 ? formatIPv4(list, at) : formatIPv6(list.subarray(at, at + 16));
    into.push({ ip, port, flags: flags?.[i] ?? 0 });
  }
  return count - take;
}
