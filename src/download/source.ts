/**
 * A source of blocks for the downloader: one remote peer reached over some transport (our HTTP
 * piece API, the wire protocol, a web seed; see sources/). The downloader only ever asks for
 * (piece, begin, length) blocks, so that every block can be traced to the source that sent it.
 */
export interface PieceSource {
  /** Stable identity, e.g. `http://127.0.0.1:6881`: the same peer is never added twice. */
  readonly id: string;
  /** For people: `127.0.0.1:6881`. */
  readonly label: string;
  /**
   * The remote address (IP, or a web seed's host name) it connects to or from: the key of bans
   * and per-address limits, which a peer cannot change as it can its peer_id or port.
   */
  readonly address: string;
  /** Largest block length it serves in one request. */
  readonly maxBlock: number;
  /** Pieces it may be asked for at once. */
  readonly maxInFlight: number;
  /** Blocks of one piece requested at once (default 1: one after the other). */
  readonly blocksPerPiece?: number;
  /** Learn which pieces it holds (may fail: the peer is then unusable). */
  connect(signal: AbortSignal): Promise<void>;
  has(piece: number): boolean;
  /** False while it cannot take requests (a wire peer choking us). Optional: always ready. */
  ready?(): boolean;
  /** Call `onChange` whenever it may have become useful (a piece announced, an unchoke). Optional. */
  watch?(onChange: () => void): void;
  /** True once it can never serve again (its connection closed): dropped, its place freed for the same peer's next connection. Optional. */
  gone?(): boolean;
  /** Ask again what it holds (a peer that is still downloading gains pieces). Optional. */
  refresh?(signal: AbortSignal): Promise<void>;
  /*
   * A source fetches one of three ways (it has at least one): a whole piece itself, its blocks
   * pipelined and copied once from the socket into the piece (the wire protocol); block by block
   * straight into the piece's buffer (HTTP peers, web seeds); or block by block as buffers of its
   * own that are copied (test fakes). The downloader prefers them in that order.
   */
  /**
   * Every block of `piece` into `buf`; `onData` and the rejection rule as for fetchBlockInto;
   * `isDone()` says another source already delivered the piece (stop asking).
   */
  fetchPiece?(piece: number, buf: Buffer, signal: AbortSignal, onData: (offset: number, length: number) => void, isDone: () => boolean): Promise<void>;
  /** Exactly `length` bytes of piece `piece` from `begin`, or a rejection. */
  fetchBlock?(piece: number, begin: number, length: number, signal: AbortSignal): Promise<Buffer>;
  /**
   * The block at `begin` of length `into.length`, read straight into `into`; `onData(offset,
   * length)` tells which bytes of `into` just arrived (in order), so that the piece can be hashed
   * as it comes. After a rejection nothing more is written to `into` (the caller reuses it at once).
   */
  fetchBlockInto?(piece: number, begin: number, into: Buffer, signal: AbortSignal, onData?: (offset: number, length: number) => void): Promise<void>;
  /** Stop using it; `dropped` when it failed or lied (a connection may then be closed). */
  close(dropped?: boolean): void;
}

/**
 * A request the source cannot serve right now through no fault of its own (a wire peer choked
 * us): the piece goes back to the pool and the source is not counted as failing.
 */
export class SourceBusyError extends Error {}
