/**
 * A source of blocks for the downloader: one remote peer reached over some transport (our HTTP
 * piece API now; the wire protocol and web seeds later). The downloader only ever asks for
 * (piece, begin, length) blocks, so that every block can be traced to the source that sent it.
 */
export interface PieceSource {
  /** Stable identity, e.g. `http://127.0.0.1:6881`: the same peer is never added twice. */
  readonly id: string;
  /** For people: `127.0.0.1:6881`. */
  readonly label: string;
  /** Largest block length it serves in one request. */
  readonly maxBlock: number;
  /** Requests it may have in flight at once. */
  readonly maxInFlight: number;
  /** Learn which pieces it holds (may fail: the peer is then unusable). */
  connect(signal: AbortSignal): Promise<void>;
  has(piece: number): boolean;
  /** Ask again what it holds (a peer that is still downloading gains pieces). Optional. */
  refresh?(signal: AbortSignal): Promise<void>;
  /** Exactly `length` bytes of piece `piece` from `begin`, or a rejection. */
  fetchBlock(piece: number, begin: number, length: number, signal: AbortSignal): Promise<Buffer>;
  close(): void;
}
