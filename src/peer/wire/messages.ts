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
  Extended = 20,
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
  | { type: 'extended'; payload: Buffer }
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
    case 'have': {
      const b = header(5, Id.Have, 4);
      b.writeUInt32BE(m.index >>> 0, 5);
      return b;
    }
    case 'bitfield':
      return Buffer.concat([header(1 + m.bits.length, Id.Bitfield), m.bits]);
    case 'request':
    case 'cancel': {
      // One allocation: a request goes out for every 16 KiB block.
      const b = header(13, m.type === 'request' ? Id.Request : Id.Cancel, 12);
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
      return Buffer.concat([header(1 + m.payload.length, Id.Extended), m.payload]);
    case 'unknown':
      return header(1, m.id);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export interface ParserLimits {
  /** Longest message accepted (id + payload). */
  maxMessage: number;
}

/**
 * Incremental parser: feed it socket chunks, get whole messages. Buffers at most one message
 * (bounded by `maxMessage`); a longer length prefix is a protocol error, reported before any
 * allocation.
 */
export class MessageParser {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly limits: ParserLimits) {}

  /** Append `chunk`; returns every complete message now available. Throws WireError. */
  push(chunk: Buffer): Message[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Message[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const len = this.peekLength();
      if (len > this.limits.maxMessage) throw new WireError(`message of ${len} bytes is over the limit of ${this.limits.maxMessage}`);
      if (this.buffered < 4 + len) break;
      const frame = this.take(4 + len);
      out.push(decodeMessage(frame.subarray(4)));
    }
    return out;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    // The prefix spans chunks: read its 4 bytes across them (nothing is joined).
    let n = 0;
    for (let i = 0, k = 0; k < 4; i++) {
      const c = this.chunks[i]!;
      for (let j = 0; j < c.length && k < 4; j++, k++) n = n * 256 + c[j]!;
    }
    return n;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = this.gather(n);
    }
    this.buffered -= n;
    return out;
  }

  /** The first `n` buffered bytes, which span chunks, copied once; the rest stays as views. */
  private gather(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}

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
    case Id.Bitfield:
      return { type: 'bitfield', bits: Buffer.from(p) };
    case Id.Request:
    case Id.Cancel: {
      need(12);
      const m = { index: p.readUInt32BE(0), begin: p.readUInt32BE(4), length: p.readUInt32BE(8) };
      return id === Id.Request ? { type: 'request', ...m } : { type: 'cancel', ...m };
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
      return { type: 'extended', payload: Buffer.from(p) };
    default:
      return { type: 'unknown', id };
  }
}
