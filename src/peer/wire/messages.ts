/**
 * BitTorrent peer wire protocol framing (BEP 3), pure: bytes in, messages out and back.
 *
 *   handshake: <19><"BitTorrent protocol"><8 reserved><20 info_hash><20 peer_id>
 *   message:   <4-byte big-endian length><1-byte id><payload>   (length 0 = keep-alive)
 *
 * Every length prefix is bounded before anything is buffered: a peer can claim 4 GiB.
 */

export const PROTOCOL = Buffer.from('BitTorrent protocol', 'latin1');
export const HANDSHAKE_LENGTH = 68;
export const BLOCK_SIZE = 16 * 1024;

export enum Id {
  Choke = 0,
  Unchoke = 1,
  Interested = 2,
  NotInterested = 3,
  Have = 4,
  Bitfield = 5,
  Request = 6,
  Piece = 7,
  Cancel = 8,
  Port = 9,
  // BEP 6, the fast extension
  Suggest = 13,
  HaveAll = 14,
  HaveNone = 15,
  Reject = 16,
  AllowedFast = 17,
  // BEP 10, the extension protocol
  Extended = 20,
}

/** Reserved handshake bits we set and read (BEP 5, 6, 10). */
export const RESERVED = {
  /** BEP 10 extension protocol: reserved[5] & 0x10. */
  extensions: { byte: 5, bit: 0x10 },
  /** BEP 6 fast extension: reserved[7] & 0x04. */
  fast: { byte: 7, bit: 0x04 },
  /** BEP 5 DHT (the peer takes a `port` message): reserved[7] & 0x01. */
  dht: { byte: 7, bit: 0x01 },
} as const;

export type ReservedFeature = keyof typeof RESERVED;

/** The 8 reserved bytes announcing `features`. */
export function reservedBytes(features: readonly ReservedFeature[]): Buffer {
  const b = Buffer.alloc(8);
  for (const f of features) b[RESERVED[f].byte]! |= RESERVED[f].bit;
  return b;
}

export function hasFeature(reserved: Buffer, f: ReservedFeature): boolean {
  return ((reserved[RESERVED[f].byte] ?? 0) & RESERVED[f].bit) !== 0;
}

export type Message =
  | { type: 'keep-alive' }
  | { type: 'choke' }
  | { type: 'unchoke' }
  | { type: 'interested' }
  | { type: 'not-interested' }
  | { type: 'have'; index: number }
  | { type: 'bitfield'; bits: Buffer }
  | { type: 'request'; index: number; begin: number; length: number }
  | { type: 'piece'; index: number; begin: number; block: Buffer }
  | { type: 'cancel'; index: number; begin: number; length: number }
  | { type: 'port'; port: number }
  | { type: 'suggest'; index: number }
  | { type: 'have-all' }
  | { type: 'have-none' }
  | { type: 'reject'; index: number; begin: number; length: number }
  | { type: 'allowed-fast'; index: number }
  | { type: 'extended'; id: number; payload: Buffer }
  | { type: 'unknown'; id: number };

export interface Handshake {
  reserved: Buffer;
  infoHash: Buffer;
  peerId: Buffer;
}

export class WireError extends Error {}

export function encodeHandshake(infoHash: Buffer, peerId: Buffer, reserved: Buffer = Buffer.alloc(8)): Buffer {
  return Buffer.concat([Buffer.from([19]), PROTOCOL, reserved, infoHash, peerId]);
}

/** Parse the 68-byte handshake; throws WireError if it is not BitTorrent's. */
export function decodeHandshake(b: Buffer): Handshake {
  if (b.length < HANDSHAKE_LENGTH) throw new WireError('short handshake');
  if (b[0] !== 19 || !b.subarray(1, 20).equals(PROTOCOL)) throw new WireError('not a BitTorrent handshake');
  return { reserved: Buffer.from(b.subarray(20, 28)), infoHash: Buffer.from(b.subarray(28, 48)), peerId: Buffer.from(b.subarray(48, 68)) };
}

/** The 5-byte header, in a buffer with room for `payload` bytes after it. */
function header(length: number, id: number, payload = 0): Buffer {
  const b = Buffer.allocUnsafe(5 + payload);
  b.writeUInt32BE(length, 0);
  b[4] = id;
  return b;
}

export function encode(m: Message): Buffer {
  switch (m.type) {
    case 'keep-alive':
      return Buffer.alloc(4);
    case 'choke':
      return header(1, Id.Choke);
    case 'unchoke':
      return header(1, Id.Unchoke);
    case 'interested':
      return header(1, Id.Interested);
    case 'not-interested':
      return header(1, Id.NotInterested);
    case 'have':
    case 'suggest':
    case 'allowed-fast': {
      const b = header(5, INDEX_IDS[m.type], 4);
      b.writeUInt32BE(m.index >>> 0, 5);
      return b;
    }
    case 'have-all':
      return header(1, Id.HaveAll);
    case 'have-none':
      return header(1, Id.HaveNone);
    case 'bitfield':
      return Buffer.concat([header(1 + m.bits.length, Id.Bitfield), m.bits]);
    case 'request':
    case 'cancel':
    case 'reject': {
      // One allocation: a request goes out for every 16 KiB block.
      const b = header(13, BLOCK_IDS[m.type], 12);
      b.writeUInt32BE(m.index >>> 0, 5);
      b.writeUInt32BE(m.begin >>> 0, 9);
      b.writeUInt32BE(m.length >>> 0, 13);
      return b;
    }
    case 'piece':
      return Buffer.concat([header(9 + m.block.length, Id.Piece), u32(m.index), u32(m.begin), m.block]);
    case 'port': {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(m.port);
      return Buffer.concat([header(3, Id.Port), p]);
    }
    case 'extended':
      return Buffer.concat([header(2 + m.payload.length, Id.Extended), Buffer.from([m.id]), m.payload]);
    case 'unknown':
      return header(1, m.id);
  }
}

const INDEX_IDS = { have: Id.Have, suggest: Id.Suggest, 'allowed-fast': Id.AllowedFast } as const;
const BLOCK_IDS = { request: Id.Request, cancel: Id.Cancel, reject: Id.Reject } as const;

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

// The incremental parser lives beside (its own file: this one stays readable).
export { MessageParser, type BlockSink, type OnMessage, type ParserLimits } from './message-parser.ts';

/** Decode one message body (after the length prefix). */
export function decodeMessage(body: Buffer): Message {
  if (body.length === 0) return { type: 'keep-alive' };
  const id = body[0]!;
  const p = body.subarray(1);
  const need = (n: number) => {
    if (p.length !== n) throw new WireError(`message ${id} has ${p.length} payload bytes, expected ${n}`);
  };
  switch (id) {
    case Id.Choke:
      need(0);
      return { type: 'choke' };
    case Id.Unchoke:
      need(0);
      return { type: 'unchoke' };
    case Id.Interested:
      need(0);
      return { type: 'interested' };
    case Id.NotInterested:
      need(0);
      return { type: 'not-interested' };
    case Id.Have:
      need(4);
      return { type: 'have', index: p.readUInt32BE(0) };
    case Id.Suggest:
      need(4);
      return { type: 'suggest', index: p.readUInt32BE(0) };
    case Id.AllowedFast:
      need(4);
      return { type: 'allowed-fast', index: p.readUInt32BE(0) };
    case Id.HaveAll:
      need(0);
      return { type: 'have-all' };
    case Id.HaveNone:
      need(0);
      return { type: 'have-none' };
    case Id.Bitfield:
      return { type: 'bitfield', bits: Buffer.from(p) };
    case Id.Request:
    case Id.Cancel:
    case Id.Reject: {
      need(12);
      const m = { index: p.readUInt32BE(0), begin: p.readUInt32BE(4), length: p.readUInt32BE(8) };
      return { type: id === Id.Request ? 'request' : id === Id.Cancel ? 'cancel' : 'reject', ...m };
    }
    case Id.Piece:
      if (p.length < 8) throw new WireError('piece message too short');
      // A view, not a copy: it is copied once, into its piece, as it is delivered. (Sockets and
      // PeerSocket streams push a fresh buffer per chunk, never one they write again.)
      return { type: 'piece', index: p.readUInt32BE(0), begin: p.readUInt32BE(4), block: p.subarray(8) };
    case Id.Port:
      need(2);
      return { type: 'port', port: p.readUInt16BE(0) };
    case Id.Extended:
      if (p.length < 1) throw new WireError('extended message without its id');
      return { type: 'extended', id: p[0]!, payload: Buffer.from(p.subarray(1)) };
    default:
      return { type: 'unknown', id };
  }
}
