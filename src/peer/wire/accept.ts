/**
 * Answering a wire connection someone opened to us (over TCP or uTP), once its opening bytes
 * said BitTorrent (byte 19) or MSE (a Diffie-Hellman key): the policy of `--encryption`, the MSE
 * handshake when asked, then the BitTorrent handshake for a torrent we share. Anything wrong
 * rejects, and the caller drops the connection unanswered.
 */
import { readHandshake, ourHandshake } from './handshake.ts';
import { WireError, type Handshake } from './messages.ts';
import type { PeerSocket } from './peer-socket.ts';
import type { SharedTorrent } from '../shared-torrent.ts';
import { acceptMse } from '../mse/index.ts';
import type { EncryptionPolicy } from '../transport-options.ts';

export interface AcceptContext {
  torrents: ReadonlyMap<string, SharedTorrent>;
  peerId: Buffer;
  encryption: EncryptionPolicy;
  /** Our handshake's reserved bytes (default OUR_RESERVED). */
  reserved?: Buffer;
}

export interface AcceptedWire {
  socket: PeerSocket;
  torrent: SharedTorrent;
  hs: Handshake;
  rest: Buffer;
}

/** The stream to read the BitTorrent handshake from, and the bytes of it already in. */
async function payloadStream(socket: PeerSocket, first: Buffer, kind: 'bittorrent' | 'mse', ctx: AcceptContext) {
  if (kind === 'bittorrent') {
    if (ctx.encryption === 'require') throw new WireError('a plain handshake, and encryption is required');
    return { stream: socket, initial: first, infoHash: undefined };
  }
  if (ctx.encryption === 'off') throw new WireError('an encrypted handshake, and encryption is off');
  const infoHashes = () => [...ctx.torrents.values()].map((t) => t.meta.infoHash);
  const m = await acceptMse(socket, first, { policy: ctx.encryption, infoHashes });
  return { stream: m.stream, initial: m.initial, infoHash: m.infoHash };
}

export async function acceptWire(socket: PeerSocket, first: Buffer, kind: 'bittorrent' | 'mse', ctx: AcceptContext): Promise<AcceptedWire> {
  const p = await payloadStream(socket, first, kind, ctx);
  const { hs, rest } = await readHandshake(p.stream, p.initial);
  if (p.infoHash && !hs.infoHash.equals(p.infoHash)) throw new WireError('the handshake names another torrent than the MSE key');
  const torrent = ctx.torrents.get(hs.infoHash.toString('hex'));
  // A torrent we do not serve, or ourselves: dropped without an answer.
  if (!torrent) throw new WireError('a torrent we do not share');
  if (hs.peerId.equals(ctx.peerId)) throw new WireError('a connection to ourselves');
  p.stream.write(ourHandshake(torrent.meta.infoHash, ctx.peerId, ctx.reserved));
  return { socket: p.stream, torrent, hs, rest };
}
