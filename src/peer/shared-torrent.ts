/** What a peer shares of one torrent, for its HTTP API and its wire connections alike. */
import type { Metainfo } from '../metainfo/metainfo.ts';
import type { PieceStore } from '../storage/piece-store.ts';
import type { Bitfield } from '../bittorrent/bitfield.ts';

export interface SharedTorrent {
  meta: Metainfo;
  store: PieceStore;
  /** Verified pieces; only these are served. */
  have: Bitfield;
  /** BEP 16: offer each peer only pieces nobody else was offered (see seed/super-seed.ts). */
  superSeeding?: boolean;
}

/** Counts every byte of content the peer has sent (HTTP and wire). */
export interface UploadCounter {
  uploaded: number;
}
