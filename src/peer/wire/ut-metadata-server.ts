/**
 * Serving the info dictionary over `ut_metadata` (BEP 9) on one wire connection, so that a
 * client holding only a magnet link can start from us. Requests are answered from the exact
 * bytes of the torrent's `info` (Metainfo.rawInfo), whose SHA-1 is the info hash. Bounded: a
 * connection gets at most a few copies of the metadata; beyond that, and for pieces out of
 * range, a reject.
 */
import { encodeUtMetadata, MAX_METADATA_SIZE, METADATA_PIECE, metadataPieceCount, metadataPieceLength, type UtMetadataMessage } from './ut-metadata.ts';

/** Copies of the whole metadata one connection may fetch (a client retrying after a drop needs a second). */
const COPIES_PER_CONNECTION = 2;
const SPARE_ANSWERS = 8;

export class MetadataServer {
  private answered = 0;

  /** `send` sends a ut_metadata payload under the peer's sub-id (dropped if it named none). */
  constructor(
    private readonly rawInfo: Buffer,
    private readonly send: (payload: Buffer) => void,
  ) {}

  /** The size we announce in our extension handshake (none when too large to serve). */
  get size(): number | undefined {
    return this.rawInfo.length <= MAX_METADATA_SIZE ? this.rawInfo.length : undefined;
  }

  /** A ut_metadata message from the peer: requests are answered; data and rejects we never asked for are ignored. */
  receive(m: UtMetadataMessage): void {
    if (m.type !== 'request') return;
    const size = this.size;
    const count = size === undefined ? 0 : metadataPieceCount(size);
    if (size === undefined || m.piece >= count || this.answered >= COPIES_PER_CONNECTION * count + SPARE_ANSWERS) {
      this.send(encodeUtMetadata({ type: 'reject', piece: m.piece }));
      return;
    }
    this.answered++;
    const start = m.piece * METADATA_PIECE;
    const data = this.rawInfo.subarray(start, start + metadataPieceLength(size, m.piece));
    this.send(encodeUtMetadata({ type: 'data', piece: m.piece, totalSize: size, data }));
  }
}
