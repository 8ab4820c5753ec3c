/**
 * The UDP tracker's packets (BEP 15) and the URL data of BEP 41: datagram bytes -> requests,
 * answers -> bytes. Pure. Every field is read at an offset checked against the datagram's length;
 * nothing is allocated from a length the sender chose. Hashes and peer ids are views into the
 * datagram, not copies: node:dgram gives every datagram a buffer of its own, and the store copies
 * what it keeps.
 */
import { TrackerRequestError } from '../protocol/query.ts';
import type { AnnounceEvent } from '../protocol/announce.ts';
import type { ScrapeEntry } from '../protocol/scrape.ts';

/** The connect request's magic, in its connection id field: this is a BitTorrent UDP tracker packet. */
export const PROTOCOL_ID_HIGH = 0x417;
export const PROTOCOL_ID_LOW = 0x27101980;

export const ACTION_CONNECT = 0;
export const ACTION_ANNOUNCE = 1;
export const ACTION_SCRAPE = 2;
export const ACTION_ERROR = 3;

/** connection id (8), action (4), transaction id (4): every request starts so. */
export const HEADER_SIZE = 16;
/** The announce's fixed part; BEP 41 options may follow. */
export const ANNOUNCE_SIZE = 98;
/** Most info_hashes in one scrape (BEP 15: "up to about 74", what fits in one Ethernet frame). */
export const MAX_SCRAPE_HASHES = 74;
/** Longest URL data (BEP 41) kept: a path and a passkey fit many times over. */
export const MAX_URL_DATA = 1024;
/** Longest error message sent, in bytes (an error packet stays small even to a connected client). */
export const MAX_ERROR_MESSAGE = 200;

export type UdpAction = 'connect' | 'announce' | 'scrape';

/** What every request carries: its action and the client's transaction id (echoed in the answer). */
export interface UdpHeader {
  action: UdpAction;
  transactionId: number;
}

/** A BEP 15 announce as sent, before any policy (address, numwant cap) is applied. */
export interface UdpAnnounce {
  infoHash: Buffer;
  peerId: Buffer;
  downloaded: number;
  left: number;
  uploaded: number;
  event: AnnounceEvent;
  /** The packet's IPv4 address field (0: the sender's address), as a 32-bit unsigned number. */
  ipField: number;
  key: number;
  /** -1 (or any negative): the tracker's default. */
  numwant: number;
  port: number;
  /** BEP 41 URL data (the announce URL's path and query), latin1, possibly empty. */
  urlData: string;
}

/** Malformed request fields: answered with an error packet (the id was already checked). */
export class UdpPacketError extends TrackerRequestError {}

/**
 * The header of a datagram, or null when it must be dropped unanswered: shorter than a header,
 * an unknown action (error packets from others included), or a connect without the protocol's
 * magic. Answering such datagrams at all would make the tracker a reflector for any junk.
 */
export function readHeader(msg: Buffer): UdpHeader | null {
  if (msg.length < HEADER_SIZE) return null;
  const code = msg.readUInt32BE(8);
  const transactionId = msg.readUInt32BE(12);
  if (code === ACTION_CONNECT) {
    if (msg.readUInt32BE(0) !== PROTOCOL_ID_HIGH || msg.readUInt32BE(4) !== PROTOCOL_ID_LOW) return null;
    return { action: 'connect', transactionId };
  }
  if (code === ACTION_ANNOUNCE) return { action: 'announce', transactionId };
  if (code === ACTION_SCRAPE) return { action: 'scrape', transactionId };
  return null;
}

/** The connection id field of a request (a view, 8 bytes). */
export function connectionIdOf(msg: Buffer): Buffer {
  return msg.subarray(0, 8);
}

const EVENTS: readonly AnnounceEvent[] = ['none', 'completed', 'started', 'stopped'];

/**
 * A signed 64-bit counter as a Number (precision beyond 2^53 does not matter for byte counts);
 * negative values, which some clients send for "unknown", become -1.
 */
function counter64(msg: Buffer, at: number): number {
  const high = msg.readInt32BE(at);
  if (high < 0) return -1;
  // Past 2^53 (left = 2^63-1 from a client that does not know the size yet) counts as 2^53 - 1, as over HTTP.
  return Math.min(high * 0x1_0000_0000 + msg.readUInt32BE(at + 4), Number.MAX_SAFE_INTEGER);
}

/** An announce (the header already read). Throws UdpPacketError for a short or malformed one. */
export function parseAnnounce(msg: Buffer): UdpAnnounce {
  if (msg.length < ANNOUNCE_SIZE) throw new UdpPacketError(`announce shorter than ${ANNOUNCE_SIZE} bytes`);
  const eventCode = msg.readUInt32BE(80);
  const event = EVENTS[eventCode];
  if (event === undefined) throw new UdpPacketError('unknown event');
  const port = msg.readUInt16BE(96);
  if (port === 0) throw new UdpPacketError('port must be 1..65535');
  return {
    infoHash: msg.subarray(16, 36),
    peerId: msg.subarray(36, 56),
    downloaded: counter64(msg, 56),
    left: counter64(msg, 64),
    uploaded: counter64(msg, 72),
    event,
    ipField: msg.readUInt32BE(84),
    key: msg.readUInt32BE(88),
    numwant: msg.readInt32BE(92),
    port,
    urlData: parseUrlData(msg, ANNOUNCE_SIZE),
  };
}

const OPTION_END = 0;
const OPTION_NOP = 1;
const OPTION_URL_DATA = 2;

/**
 * BEP 41 options from `at` to the end: 0 ends them, 1 is one byte of padding, every other type
 * has a length byte; URL data (type 2) parts are concatenated, other types are skipped. An option
 * running past the datagram, or URL data over MAX_URL_DATA, refuses the announce: a passkey cut
 * short must not pass for another one.
 */
export function parseUrlData(msg: Buffer, at: number): string {
  let url = '';
  let i = at;
  while (i < msg.length) {
    const type = msg[i]!;
    if (type === OPTION_END) break;
    if (type === OPTION_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= msg.length) throw new UdpPacketError('option without its length');
    const length = msg[i + 1]!;
    const end = i + 2 + length;
    if (end > msg.length) throw new UdpPacketError('option longer than the packet');
    if (type === OPTION_URL_DATA) {
      if (url.length + length > MAX_URL_DATA) throw new UdpPacketError(`URL data longer than ${MAX_URL_DATA} bytes`);
      url += msg.toString('latin1', i + 2, end);
    }
    i = end;
  }
  return url;
}

/** A scrape's info_hashes (the header already read), 0 to MAX_SCRAPE_HASHES of them. */
export function parseScrape(msg: Buffer): Buffer[] {
  const body = msg.length - HEADER_SIZE;
  if (body % 20 !== 0) throw new UdpPacketError('scrape length is not 16 + 20 x n bytes');
  const n = body / 20;
  if (n > MAX_SCRAPE_HASHES) throw new UdpPacketError(`at most ${MAX_SCRAPE_HASHES} info_hash per scrape`);
  const hashes: Buffer[] = [];
  for (let i = 0; i < n; i++) hashes.push(msg.subarray(HEADER_SIZE + i * 20, HEADER_SIZE + i * 20 + 20));
  return hashes;
}

/** Unsigned 32-bit header words: action, then the client's transaction id. */
function header(size: number, action: number, transactionId: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(action, 0);
  out.writeUInt32BE(transactionId >>> 0, 4);
  return out;
}

export function encodeConnect(transactionId: number, connectionId: Buffer): Buffer {
  const out = header(16, ACTION_CONNECT, transactionId);
  connectionId.copy(out, 8, 0, 8);
  return out;
}

/** Counts go out as int32: saturate rather than wrap into negatives. */
function int32(n: number): number {
  return Math.min(Math.max(Math.trunc(n), 0), 0x7fff_ffff);
}

/** @param peers compact peers of one size: 6 bytes each (IPv4 socket or client) or 18 (IPv6) */
export function encodeAnnounce(transactionId: number, interval: number, leechers: number, seeders: number, peers: Buffer): Buffer {
  const out = header(20 + peers.length, ACTION_ANNOUNCE, transactionId);
  out.writeInt32BE(int32(interval), 8);
  out.writeInt32BE(int32(leechers), 12);
  out.writeInt32BE(int32(seeders), 16);
  peers.copy(out, 20);
  return out;
}

/** One entry per asked hash, in the order asked (BEP 15 answers by position, not by hash). */
export function encodeScrape(transactionId: number, entries: readonly ScrapeEntry[]): Buffer {
  const out = header(8 + 12 * entries.length, ACTION_SCRAPE, transactionId);
  entries.forEach((e, i) => {
    out.writeInt32BE(int32(e.complete), 8 + i * 12);
    out.writeInt32BE(int32(e.downloaded), 12 + i * 12);
    out.writeInt32BE(int32(e.incomplete), 16 + i * 12);
  });
  return out;
}

/**
 * An error packet of at most `maxSize` bytes (and at most MAX_ERROR_MESSAGE of message): to an
 * unauthenticated sender the caller passes the request's own size, so the answer never
 * outgrows what was sent. The message is cut on a byte boundary (our messages are ASCII).
 */
export function encodeError(transactionId: number, message: string, maxSize: number): Buffer {
  const text = Buffer.from(message, 'utf8');
  const room = Math.max(0, Math.min(text.length, MAX_ERROR_MESSAGE, maxSize - 8));
  const out = header(8 + room, ACTION_ERROR, transactionId);
  text.copy(out, 8, 0, room);
  return out;
}
