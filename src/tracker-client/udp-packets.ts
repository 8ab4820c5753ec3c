/**
 * The client side of the UDP tracker protocol (BEP 15) with BEP 41 URL data: the `udp://` URL,
 * the connect and announce requests, and the tracker's (possibly hostile) answers. Pure: bytes in,
 * bounded values out; every length is checked against the bytes present.
 */
import type { AnnounceEvent } from '../tracker/protocol/announce.ts';
import type { AnnounceParams } from './announce-url.ts';
import { pushCompactPeers, TrackerFailure, type TrackerPeer, type TrackerReply } from './reply.ts';

/** The protocol id of a connect request (BEP 15). */
const PROTOCOL_ID = 0x41727101980n;
const ACTION_CONNECT = 0;
const ACTION_ANNOUNCE = 1;
const ACTION_ERROR = 3;
const ANNOUNCE_REQUEST_BYTES = 98;
/** BEP 41 option type of URL data; each option carries at most 255 bytes. */
const OPTION_URL_DATA = 2;
const URL_DATA_CHUNK = 255;
/** URL data beyond this is refused: a torrent's URL is hostile too, and it must fit one datagram. */
export const MAX_URL_DATA_BYTES = 2048;
/** An error message is shown, not stored: cut it here. */
const MAX_ERROR_MESSAGE = 300;

/** BEP 15 event numbers; BEP 21 `paused` has none in BEP 15 and is a plain announce. */
const EVENT_CODES: Record<AnnounceEvent, number> = { none: 0, completed: 1, started: 2, stopped: 3, paused: 0 };

export interface UdpTrackerTarget {
  /** Host name or IP address, without IPv6 brackets. */
  host: string;
  port: number;
  /** BEP 41: the path and query of the URL (`/announce?passkey=x`), raw bytes; may be empty. */
  urlData: Buffer;
}

/** Split `udp://host:port/path?query` into where to send and what URL data to send (BEP 41). */
export function parseUdpTrackerUrl(url: string): UdpTrackerTarget {
  const m = /^udp:\/\/(\[[0-9a-fA-F:.]+\]|[^/?#:[\]@]+):(\d{1,5})([/?][^#]*)?(#.*)?$/i.exec(url);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) throw new Error(`not a udp tracker URL with a port: ${url.slice(0, 200)}`);
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  const urlData = Buffer.from(m[3] ?? '', 'utf8');
  if (urlData.length > MAX_URL_DATA_BYTES) throw new Error(`udp tracker URL path is over ${MAX_URL_DATA_BYTES} bytes`);
  return { host, port, urlData };
}

/** The 16-byte connect request. */
export function encodeConnect(transactionId: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(PROTOCOL_ID, 0);
  b.writeUInt32BE(ACTION_CONNECT, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  return b;
}

export interface UdpAnnounceFields {
  connectionId: Buffer;
  transactionId: number;
  /** BEP 15 `key`: lets the tracker know us again if our address changes. */
  key: number;
  urlData: Buffer;
}

/** The 98-byte announce request, then the URL data as BEP 41 options of at most 255 bytes each. */
export function encodeAnnounce(p: AnnounceParams, f: UdpAnnounceFields): Buffer {
  if (f.connectionId.length !== 8) throw new RangeError('a connection id is 8 bytes');
  const b = Buffer.alloc(ANNOUNCE_REQUEST_BYTES);
  f.connectionId.copy(b, 0);
  b.writeUInt32BE(ACTION_ANNOUNCE, 8);
  b.writeUInt32BE(f.transactionId >>> 0, 12);
  p.infoHash.copy(b, 16, 0, 20);
  p.peerId.copy(b, 36, 0, 20);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(p.downloaded))), 56);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(p.left))), 64);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(p.uploaded))), 72);
  b.writeUInt32BE(EVENT_CODES[p.event], 80);
  b.writeUInt32BE(0, 84); // IP 0: the tracker uses the packet's source address
  b.writeUInt32BE(f.key >>> 0, 88);
  b.writeInt32BE(p.numwant ?? -1, 92); // -1: the tracker's default
  b.writeUInt16BE(p.port, 96);
  return Buffer.concat([b, urlDataOptions(f.urlData)]);
}

/** BEP 41: type 2, length, up to 255 bytes, repeated; the tracker concatenates them. */
function urlDataOptions(urlData: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < urlData.length; at += URL_DATA_CHUNK) {
    const chunk = urlData.subarray(at, at + URL_DATA_CHUNK);
    parts.push(Buffer.from([OPTION_URL_DATA, chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

/** Action and transaction id of any answer, or null for a datagram too short to carry them. */
export function answerHeader(packet: Buffer): { action: number; transactionId: number } | null {
  if (packet.length < 8) return null;
  return { action: packet.readUInt32BE(0), transactionId: packet.readUInt32BE(4) };
}

/** What a tracker answered to one request: the expected answer, or its error packet's message. */
export type UdpAnswer<T> = { ok: true; value: T } | { ok: false; message: string };

/** Is this an error packet (action 3)? Under 8 bytes it is no answer at all. */
function isErrorPacket(packet: Buffer, what: string): boolean {
  if (packet.length < 8) throw new TrackerFailure(`udp tracker sent a truncated ${what} answer (${packet.length} bytes)`);
  return packet.readUInt32BE(0) === ACTION_ERROR;
}

/** An error packet (action 3): its message, cut and stripped of control characters. */
function errorAnswer(packet: Buffer): { ok: false; message: string } {
  const text = packet.subarray(8, 8 + MAX_ERROR_MESSAGE * 4).toString('utf8');
  const message = text.replace(/[\x00-\x1f\x7f]/g, ' ').trim().slice(0, MAX_ERROR_MESSAGE);
  return { ok: false, message: message || 'no reason given' };
}

/** The action and the length of an answer that is not an error packet. */
function expectAction(packet: Buffer, action: number, minBytes: number, what: string): void {
  const got = packet.readUInt32BE(0);
  if (got !== action) throw new TrackerFailure(`udp tracker sent action ${got} in answer to ${what}`);
  if (packet.length < minBytes) throw new TrackerFailure(`udp tracker sent a truncated ${what} answer (${packet.length} bytes)`);
}

/** The answer to a connect request: the 8-byte connection id. */
export function parseConnectAnswer(packet: Buffer): UdpAnswer<Buffer> {
  if (isErrorPacket(packet, 'connect')) return errorAnswer(packet);
  expectAction(packet, ACTION_CONNECT, 16, 'connect');
  return { ok: true, value: Buffer.from(packet.subarray(8, 16)) };
}

/**
 * The answer to an announce: interval, counts and peers, 6 bytes each from an IPv4 tracker and
 * 18 from an IPv6 one (BEP 15: the family of the socket decides). A partial peer at the end is
 * dropped; at most MAX_REPLY_PEERS are kept.
 */
export function parseAnnounceAnswer(packet: Buffer, family: 4 | 6): UdpAnswer<TrackerReply> {
  if (isErrorPacket(packet, 'announce')) return errorAnswer(packet);
  expectAction(packet, ACTION_ANNOUNCE, 20, 'announce');
  const peers: TrackerPeer[] = [];
  pushCompactPeers(peers, packet.subarray(20), family === 4 ? 6 : 18);
  return {
    ok: true,
    value: {
      // As over HTTP: a tracker that asks for a silly interval is held to sane bounds.
      interval: Math.min(Math.max(packet.readUInt32BE(8), 1), 24 * 3600),
      incomplete: packet.readUInt32BE(12),
      complete: packet.readUInt32BE(16),
      peers,
    },
  };
}
