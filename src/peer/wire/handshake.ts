/** Handshake exchange on a fresh socket, both directions, bounded in bytes and time. */
import net from 'node:net';
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH, type Handshake, WireError } from './messages.ts';

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Read exactly the 68-byte handshake; resolves with it and any bytes that followed. */
export function readHandshake(socket: net.Socket, first: Buffer = Buffer.alloc(0)): Promise<{ hs: Handshake; rest: Buffer }> {
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
    const onClose = () => done(new WireError('connection closed during the handshake'));
    const timer = setTimeout(() => done(new WireError('no handshake within 10 s')), HANDSHAKE_TIMEOUT_MS);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    if (buf.length >= HANDSHAKE_LENGTH) done(null);
  });
}

/** Dial a peer and exchange handshakes for `infoHash`; the peer must answer for the same torrent. */
export async function dialPeer(ip: string, port: number, infoHash: Buffer, peerId: Buffer, signal?: AbortSignal): Promise<{ socket: net.Socket; hs: Handshake; rest: Buffer }> {
  const socket = net.connect({ host: ip, port, signal });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new WireError(`cannot connect to ${ip}:${port} within 10 s`));
    }, HANDSHAKE_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  socket.write(encodeHandshake(infoHash, peerId));
  try {
    const { hs, rest } = await readHandshake(socket);
    if (!hs.infoHash.equals(infoHash)) throw new WireError('peer answered for another torrent');
    return { socket, hs, rest };
  } catch (e) {
    socket.destroy();
    throw e;
  }
}
