/** The shapes a wire connection is built from, and the error a choke or reject gives our requests. */
import type { SharedTorrent } from '../shared-torrent.ts';
import type { UploadContext } from './uploader.ts';
import type { PeerSocket } from './peer-socket.ts';

/** Our requests were discarded because the peer choked us, or it rejected one (BEP 6). */
export class ChokedError extends Error {}

export interface WireContext extends UploadContext {
  /** A peer that sent us nothing for this long is closed (our own writes do not count). */
  idleTimeoutMs?: number;
  /** Our listen port, told to peers in the BEP 10 handshake. */
  listenPort?: () => number;
}

export interface WirePeer {
  socket: PeerSocket;
  torrent: SharedTorrent;
  peerId: Buffer;
  /** The peer's 8 reserved handshake bytes: which extensions it speaks. */
  reserved: Buffer;
  /** Bytes that came after its handshake. */
  leftover?: Buffer;
}
