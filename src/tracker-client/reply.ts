/**
 * A tracker's (possibly hostile) bencoded answer to an announce: compact (BEP 23) or list peers,
 * and `peers6` (BEP 7). Pure: bytes in, a bounded TrackerReply or a TrackerFailure out.
 */
import net from 'node:net';
import { decode, isBytes, isDict, isInt, isList, BencodeError, type BValue } from '../metainfo/bencode.ts';
import { formatIPv4, formatIPv6 } from '../bittorrent/address.ts';

export interface TrackerPeer {
  ip: string;
  port: number;
  peerId?: Buffer;
}

export interface TrackerReply {
  interval: number;
  minInterval?: number;
  complete?: number;
  incomplete?: number;
  peers: TrackerPeer[];
  warning?: string;
}

/** The tracker answered, and said no. */
export class TrackerFailure extends Error {}

/** At most this many peers are kept from one answer, whatever the transport. */
export const MAX_REPLY_PEERS = 2000;

/** Parse a tracker's bencoded answer: compact (BEP 23) or list peers, and `peers6` (BEP 7). */
export function parseTrackerReply(body: Buffer): TrackerReply {
  let top;
  try {
    top = decode(body);
  } catch (e) {
    if (e instanceof BencodeError) throw new TrackerFailure(`tracker sent an invalid answer (${e.message})`);
    throw e;
  }
  if (!isDict(top)) throw new TrackerFailure('tracker sent an invalid answer (not a dictionary)');
  const failure = top['failure reason'];
  if (failure !== undefined) throw new TrackerFailure(`tracker refused: ${isBytes(failure) ? failure.toString('utf8') : 'no reason given'}`);
  const num = (k: string) => {
    const v = top[k];
    return isInt(v) && v >= 0 ? v : undefined;
  };
  const interval = num('interval');
  const warning = top['warning message'];
  return {
    // A tracker that asks for a silly interval is held to sane bounds.
    interval: Math.min(Math.max(interval ?? 1800, 1), 24 * 3600),
    minInterval: num('min interval'),
    complete: num('complete'),
    incomplete: num('incomplete'),
    peers: replyPeers(top['peers'], top['peers6']),
    warning: isBytes(warning) ? warning.toString('utf8') : undefined,
  };
}

/** The peers of `peers` (compact or a list of dictionaries) then `peers6`, at most MAX_REPLY_PEERS. */
function replyPeers(v4: BValue | undefined, v6: BValue | undefined): TrackerPeer[] {
  const peers: TrackerPeer[] = [];
  if (isBytes(v4)) {
    pushCompactPeers(peers, v4, 6);
  } else if (isList(v4)) {
    for (const p of v4) {
      if (!isDict(p)) continue;
      const ip = p['ip'];
      const port = p['port'];
      const id = p['peer id'];
      if (!isBytes(ip) || !isInt(port)) continue;
      const ipText = ip.toString('latin1');
      if (net.isIP(ipText) === 0) continue;
      pushPeer(peers, { ip: ipText, port, peerId: isBytes(id) && id.length === 20 ? Buffer.from(id) : undefined });
    }
  }
  if (isBytes(v6)) pushCompactPeers(peers, v6, 18);
  return peers;
}

/** Add `p` unless its port is out of range or the list is full (MAX_REPLY_PEERS). */
function pushPeer(peers: TrackerPeer[], p: TrackerPeer): void {
  if (peers.length < MAX_REPLY_PEERS && p.port > 0 && p.port <= 65535) peers.push(p);
}

/**
 * Compact peers, 6 bytes each (BEP 23) or 18 (BEP 7, and BEP 15 over IPv6), as pushPeer adds
 * them; a partial peer at the end is dropped. HTTP and UDP answers alike.
 */
export function pushCompactPeers(peers: TrackerPeer[], bytes: Buffer, size: 6 | 18): void {
  for (let at = 0; at + size <= bytes.length; at += size) {
    const ip = size === 6 ? formatIPv4(bytes, at) : formatIPv6(bytes.subarray(at, at + 16));
    pushPeer(peers, { ip, port: bytes.readUInt16BE(at + size - 2) });
  }
}
