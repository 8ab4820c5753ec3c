/** Handshake exchange on a fresh connection, both directions, bounded in bytes and time. */
import net from 'node:net';
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH, reservedBytes, type Handshake, WireError } from './messages.ts';
import type { PeerSocket } from './peer-socket.ts';

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** The peer closed the connection before sending a single byte (it may want encryption, or be something else entirely). */
export class SilentCloseError extends WireError {}

/** What we announce in every handshake: the extension protocol (BEP 10) and the fast extension (BEP 6). */
export const OUR_RESERVED = reservedBytes(['extensions', 'fast']);

/** Our handshake for `infoHash` (`reserved`: OUR_RESERVED, plus the DHT bit when the DHT is on). */
export function ourHandshake(infoHash: Buffer, peerId: Buffer, reserved = OUR_RESERVED): Buffer {
  return encodeHandshake(infoHash, peerId, reserved);
}

/** Read exactly the 68-byte handshake; resolves with it and any bytes that followed. */
export function readHandshake(socket: PeerSocket, first: Buffer = Buffer.alloc(0)): Promise<{ hs: Handshake; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = first;
    const done = (err: Error | null) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.pause(); // the wire connection resumes it once its own listener is in place
      if (err) return reject(err);
      try {
        resolve({ hs: decodeHandshake(buf.subarray(0, HANDSHAKE_LENGTH)), rest: Buffer.from(buf.subarray(HANDSHAKE_LENGTH)) });
      } catch (e) {
        reject(e as Error);
      }
    };
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      // Fail fast on anything that is not a BitTorrent handshake.
      if (buf[0] !== undefined && buf[0] !== 19) return done(new WireError('not a BitTorrent handshake'));
      if (buf.length >= HANDSHAKE_LENGTH) done(null);
    };
    const onError = (e: Error) => done(e);
    const onClose = () => done(buf.length === 0 ? new SilentCloseError('connection closed before any answer') : new WireError('connection closed during the handshake'));
    const timer = setTimeout(() => done(new WireError('no handshake within 10 s')), HANDSHAKE_TIMEOUT_MS);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    if (buf.length >= HANDSHAKE_LENGTH) done(null);
    else socket.resume();
  });
}

/** A TCP connection to ip:port within 10 s. */
export function connectTcp(ip: string, port: number, signal?: AbortSignal): Promise<net.Socket> {
  const socket = net.connect({ host: ip, port, signal });
  return new Promise<net.Socket>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new WireError(`cannot connect to ${ip}:${port} within 10 s`));
    }, HANDSHAKE_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    });
  });
}

/**
 * Our side of the handshake on a connection we opened: send ours (unless it already went, e.g.
 * inside an MSE handshake), read theirs, which must be for the same torrent.
 */
export async function handshakeOut(socket: PeerSocket, infoHash: Buffer, peerId: Buffer, alreadySent = false, first?: Buffer, reserved = OUR_RESERVED): Promise<{ hs: Handshake; rest: Buffer }> {
  if (!alreadySent) socket.write(ourHandshake(infoHash, peerId, reserved));
  try {
    const { hs, rest } = await readHandshake(socket, first);
    if (!hs.infoHash.equals(infoHash)) throw new WireError('peer answered for another torrent');
    return { hs, rest };
  } catch (e) {
    socket.destroy();
    throw e;
  }
}
