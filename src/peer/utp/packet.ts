/**
 * uTP packets (BEP 29): the 20-byte header, the extension chain (selective ACK is extension 1),
 * and 16-bit sequence arithmetic. Pure: no I/O, no clocks.
 */

export const ST_DATA = 0;
export const ST_FIN = 1;
export const ST_STATE = 2;
export const ST_RESET = 3;
export const ST_SYN = 4;
export type PacketType = 0 | 1 | 2 | 3 | 4;

export const HEADER_LENGTH = 20;
const VERSION = 1;
const EXT_SELECTIVE_ACK = 1;
/** A real chain has one or two links (libtorrent: SACK, close reason); more is an attack. */
const MAX_EXTENSIONS = 8;

export interface UtpPacket extends HeaderFields {
  /** The selective-ACK bitmask (bit 0 of byte 0 is ack_nr + 2), or null. A view into the datagram. */
  sack: Buffer | null;
  /** A view into the datagram: copy it before keeping it past the handler. */
  payload: Buffer;
}

export class UtpPacketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UtpPacketError';
  }
}

/** Decode one datagram; throws UtpPacketError on anything malformed. Allocates nothing by a claimed length. */
export function decodePacket(buf: Buffer): UtpPacket {
  if (buf.length < HEADER_LENGTH) throw new UtpPacketError(`datagram of ${buf.length} bytes is shorter than a uTP header`);
  const typeVer = buf[0]!;
  const type = typeVer >> 4;
  if ((typeVer & 0x0f) !== VERSION) throw new UtpPacketError(`uTP version ${typeVer & 0x0f}`);
  if (type > ST_SYN) throw new UtpPacketError(`packet type ${type}`);
  let ext = buf[1]!;
  let off = HEADER_LENGTH;
  let sack: Buffer | null = null;
  for (let n = 0; ext !== 0; n++) {
    if (n >= MAX_EXTENSIONS) throw new UtpPacketError('extension chain too long');
    if (off + 2 > buf.length) throw new UtpPacketError('truncated extension header');
    const next = buf[off]!;
    const len = buf[off + 1]!;
    off += 2;
    if (off + len > buf.length) throw new UtpPacketError('truncated extension');
    if (ext === EXT_SELECTIVE_ACK) {
      // BEP 29 says a multiple of 4 bytes, but libtorrent sends (span + 7) / 8: take any length.
      if (len === 0) throw new UtpPacketError('empty selective ack');
      sack = buf.subarray(off, off + len);
    }
    off += len;
    ext = next;
  }
  return {
    type: type as PacketType,
    connectionId: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    timestampDiff: buf.readUInt32BE(8),
    wndSize: buf.readUInt32BE(12),
    seqNr: buf.readUInt16BE(16),
    ackNr: buf.readUInt16BE(18),
    sack,
    payload: buf.subarray(off),
  };
}

export interface HeaderFields {
  type: PacketType;
  connectionId: number;
  timestamp: number;
  timestampDiff: number;
  wndSize: number;
  seqNr: number;
  ackNr: number;
}

/** Write the 20-byte header at the start of `buf` (extension byte 0 unless a SACK follows). */
export function writeHeader(buf: Buffer, h: HeaderFields, extension = 0): void {
  buf[0] = (h.type << 4) | VERSION;
  buf[1] = extension;
  buf.writeUInt16BE(h.connectionId & 0xffff, 2);
  buf.writeUInt32BE(h.timestamp >>> 0, 4);
  buf.writeUInt32BE(h.timestampDiff >>> 0, 8);
  buf.writeUInt32BE(Math.max(0, Math.min(h.wndSize, 0xffffffff)) >>> 0, 12);
  buf.writeUInt16BE(h.seqNr & 0xffff, 16);
  buf.writeUInt16BE(h.ackNr & 0xffff, 18);
}

/** Refresh the fields that change when a stored packet is sent again. */
export function restampHeader(buf: Buffer, timestamp: number, timestampDiff: number, wndSize: number, ackNr: number): void {
  buf.writeUInt32BE(timestamp >>> 0, 4);
  buf.writeUInt32BE(timestampDiff >>> 0, 8);
  buf.writeUInt32BE(Math.max(0, Math.min(wndSize, 0xffffffff)) >>> 0, 12);
  buf.writeUInt16BE(ackNr & 0xffff, 18);
}

/** A whole packet: header, an optional SACK extension (length a multiple of 4), payload. */
export function encodePacket(h: HeaderFields, payload: Buffer = EMPTY, sack: Buffer | null = null): Buffer {
  if (sack !== null && (sack.length === 0 || sack.length % 4 !== 0 || sack.length > 252)) {
    throw new UtpPacketError(`selective ack of ${sack.length} bytes`);
  }
  const extLen = sack === null ? 0 : 2 + sack.length;
  const buf = Buffer.allocUnsafe(HEADER_LENGTH + extLen + payload.length);
  writeHeader(buf, h, sack === null ? 0 : EXT_SELECTIVE_ACK);
  if (sack !== null) {
    buf[HEADER_LENGTH] = 0;
    buf[HEADER_LENGTH + 1] = sack.length;
    sack.copy(buf, HEADER_LENGTH + 2);
  }
  payload.copy(buf, HEADER_LENGTH + extLen);
  return buf;
}

const EMPTY = Buffer.alloc(0);

/** a - b in 16-bit sequence space, as a signed number in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/** a comes before b, wrapping at 16 bits. */
export function seqLess(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}

export function seqAdd(a: number, n: number): number {
  return (a + n) & 0xffff;
}

/** The sequence numbers a SACK bitmask marks received (bit i is ack_nr + 2 + i). */
export function sackedSeqs(ackNr: number, sack: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < sack.length * 8; i++) {
    if ((sack[i >> 3]! & (1 << (i & 7))) !== 0) out.push(seqAdd(ackNr, 2 + i));
  }
  return out;
}

/** Build a SACK bitmask (length a multiple of 4, at most `maxBytes`) from received seqs past ack_nr + 1. */
export function buildSack(ackNr: number, received: Iterable<number>, maxBytes = 32): Buffer | null {
  let top = -1;
  const bits: number[] = [];
  for (const seq of received) {
    const i = seqDiff(seq, ackNr) - 2;
    if (i < 0 || i >= maxBytes * 8) continue;
    bits.push(i);
    if (i > top) top = i;
  }
  if (top < 0) return null;
  const mask = Buffer.alloc(Math.ceil((top + 1) / 32) * 4);
  for (const i of bits) mask[i >> 3]! |= 1 << (i & 7);
  return mask;
}
