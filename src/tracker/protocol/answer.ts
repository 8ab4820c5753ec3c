/**
 * The announce's answer (BEP 3, 7, 23, 24): an outcome -> bencoded bytes, and the failure answer.
 * Pure.
 */
import { encode } from '../../metainfo/bencode.ts';
import { formatIPv4, formatIPv6 } from '../../bittorrent/address.ts';
import { intLength, putBytes, putInt } from './decimal.ts';
import type { AnnounceRequest } from './announce.ts';

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

export function failureResponse(reason: string): Buffer {
  return encode({ 'failure reason': reason });
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
