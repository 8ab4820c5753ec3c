/**
 * BEP 9 `ut_metadata` messages, pure: the info dictionary travels in 16 KiB pieces. Each message
 * is a bencoded dict (`msg_type` 0 request, 1 data, 2 reject; `piece`; `total_size` on data); a
 * data message has the piece's raw bytes right after the dict, so the dict's end is found by a
 * bounded scan of its first bytes and the dict itself goes through our bounded decoder.
 */
import { decode, encode, isDict, isInt, type BValue } from '../../metainfo/bencode.ts';
import { WireError } from './messages.ts';

/** Metadata piece size (BEP 9); the last piece is shorter. */
export const METADATA_PIECE = 16 * 1024;
/** Largest info dict we fetch or serve: 16 MiB is ~800,000 pieces, far beyond real torrents. */
export const MAX_METADATA_SIZE = 16 * 1024 * 1024;
/** A message's dict is a few dozen bytes; libtorrent's is under 60. */
const MAX_HEADER = 256;
const LIMITS = { maxDepth: 4, maxTokens: 64 };

export type UtMetadataMessage =
  | { type: 'request'; piece: number }
  | { type: 'data'; piece: number; totalSize: number; data: Buffer }
  | { type: 'reject'; piece: number }
  /** BEP 9: a msg_type we do not know is ignored (room for later extensions). */
  | { type: 'unknown'; msgType: number };

const MSG_TYPE = { request: 0, data: 1, reject: 2 } as const;

export function encodeUtMetadata(m: Exclude<UtMetadataMessage, { type: 'unknown' }>): Buffer {
  if (m.type !== 'data') return encode({ msg_type: MSG_TYPE[m.type], piece: m.piece });
  return Buffer.concat([encode({ msg_type: MSG_TYPE.data, piece: m.piece, total_size: m.totalSize }), m.data]);
}

/** Pieces of an info dict of `size` bytes. */
export function metadataPieceCount(size: number): number {
  return Math.ceil(size / METADATA_PIECE);
}

/** Bytes of piece `piece` of an info dict of `size` bytes. */
export function metadataPieceLength(size: number, piece: number): number {
  return Math.min(METADATA_PIECE, size - piece * METADATA_PIECE);
}

const C = { d: 0x64, l: 0x6c, i: 0x69, e: 0x65, colon: 0x3a, zero: 0x30, nine: 0x39 };

/** Where the leading bencoded dict of `buf` ends (index after its `e`), scanning at most MAX_HEADER bytes. */
export function leadingDictEnd(buf: Buffer): number {
  if (buf[0] !== C.d) throw new WireError('ut_metadata message does not start with a dictionary');
  const n = Math.min(buf.length, MAX_HEADER);
  let depth = 0;
  let pos = 0;
  while (pos < n) {
    const c = buf[pos]!;
    if (c === C.d || c === C.l) {
      if (++depth > LIMITS.maxDepth) throw new WireError('ut_metadata dictionary nested too deep');
      pos++;
    } else if (c === C.e) {
      pos++;
      if (--depth === 0) return pos;
    } else if (c === C.i) {
      const end = buf.indexOf(C.e, pos);
      if (end < 0 || end >= n) break;
      pos = end + 1;
    } else if (c >= C.zero && c <= C.nine) {
      const colon = buf.indexOf(C.colon, pos);
      const digits = colon < 0 ? '' : buf.toString('latin1', pos, colon);
      if (!/^\d{1,4}$/.test(digits)) throw new WireError('ut_metadata dictionary holds a bad string length');
      pos = colon + 1 + Number(digits);
    } else {
      throw new WireError(`ut_metadata dictionary holds byte 0x${c.toString(16)}`);
    }
  }
  throw new WireError(`ut_metadata dictionary does not end within ${MAX_HEADER} bytes`);
}

function field(d: Record<string, BValue | undefined>, key: string, max: number): number {
  const v = d[key];
  if (!isInt(v) || v < 0 || v > max) throw new WireError(`ut_metadata ${key} is missing or out of range`);
  return v;
}

/** Decode one ut_metadata message (the payload after the sub-id). Throws WireError. */
export function decodeUtMetadata(payload: Buffer): UtMetadataMessage {
  const end = leadingDictEnd(payload);
  let d: BValue;
  try {
    d = decode(payload.subarray(0, end), LIMITS);
  } catch (e) {
    throw new WireError(`bad ut_metadata message: ${(e as Error).message}`);
  }
  if (!isDict(d)) throw new WireError('ut_metadata message is not a dictionary');
  const type = field(d, 'msg_type', 0x7fffffff);
  if (type > MSG_TYPE.reject) return { type: 'unknown', msgType: type };
  const piece = field(d, 'piece', 0x7fffffff); // out of range is the receiver's to judge (a reject, or a drop)
  if (type === MSG_TYPE.request) return { type: 'request', piece };
  if (type === MSG_TYPE.reject) return { type: 'reject', piece };
  const totalSize = field(d, 'total_size', Number.MAX_SAFE_INTEGER);
  return { type: 'data', piece, totalSize, data: payload.subarray(end) };
}
