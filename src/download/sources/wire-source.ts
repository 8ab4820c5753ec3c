/** A peer reached over the BitTorrent wire protocol: 16 KiB blocks, several requests in flight. */
import { SourceBusyError, type PieceSource } from '../source.ts';
import { ChokedError, type WireConnection } from '../../peer/wire/connection.ts';
import { BLOCK_SIZE } from '../../peer/wire/messages.ts';
import { BlocksFetch, PeerFetches } from './wire-blocks.ts';

/** The request queue a peer is assumed to keep for us when its extension handshake names none (libtorrent's old default). */
const DEFAULT_REQQ = 250;
/** Requests per piece before the peer's rate is known (what every piece got before the rate was measured). */
const INITIAL_BLOCKS_PER_PIECE = 16;

export class WireSource implements PieceSource {
  readonly id: string;
  readonly address: string;
  readonly maxBlock = BLOCK_SIZE;
  readonly maxInFlight = 4;
  /**
   * Blocks of one piece requested at once: a whole 1 MiB piece, so up to 4 x 64 = 256 requests
   * in flight (measured on loopback, 1 GiB: 16 per piece kept both sides idle a third of the
   * time), within what the peer queues for us (see window()).
   */
  readonly blocksPerPiece = 64;
  private readonly fetches: PeerFetches;

  constructor(
    private readonly conn: WireConnection,
    readonly label: string,
    private readonly timeoutMs: number,
  ) {
    this.id = WireSource.idFor(conn.peerId);
    this.address = conn.address;
    this.fetches = new PeerFetches(timeoutMs, () => new Error(`peer ${label} sent nothing for ${timeoutMs / 1000} s`));
  }

  /** One source per remote peer_id, whichever side dialled. */
  static idFor(peerId: Buffer): string {
    return `wire:${peerId.toString('hex')}`;
  }

  /** Interest follows what the peer holds (BEP 3): a super-seeding peer offers pieces only to peers not yet interested. */
  async connect(): Promise<void> {
    if (this.conn.closed) throw new Error(`peer ${this.label} is closed`);
    this.conn.setDownloading(true);
  }

  /** Wake the scheduler at once when the peer gains a piece, lets us ask, or is gone (no polling). */
  watch(onChange: () => void): void {
    let queued = false;
    const coalesced = () => {
      if (queued) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        onChange();
      });
    };
    for (const e of ['have', 'bitfield', 'unchoke', 'allowed-fast', 'close']) this.conn.on(e, coalesced);
  }

  /** A closed connection never serves again: the downloader drops it (else it holds the peer's place, see idFor). */
  gone(): boolean {
    return this.conn.closed;
  }

  /** Requests go out while the peer has us unchoked, or (BEP 6) for the pieces it allows while choked. */
  has(piece: number): boolean {
    return this.conn.mayRequest(piece);
  }

  ready(): boolean {
    return !this.conn.closed && (!this.conn.peerChoking || this.conn.fastLink.received.size > 0);
  }

  /** The whole piece into `buf`, `blocksPerPiece` requests in flight (piece-fetch.ts prefers this). */
  fetchPiece(piece: number, buf: Buffer, signal: AbortSignal, onData: (offset: number, length: number) => void, isDone: () => boolean): Promise<void> {
    return this.fetch(piece, 0, buf, this.window(), signal, onData, isDone);
  }

  /**
   * Requests per piece: blocksPerPiece, but the pieces in flight ask for no more than the peer's
   * BEP 10 `reqq` (250 if it names none), nor more than it delivers in a quarter of the request
   * timeout (the last request waits behind all the others: a slow peer must not time out), and
   * 16 until its rate is known.
   */
  private window(): number {
    const reqq = this.conn.ext.peer?.reqq ?? DEFAULT_REQQ;
    const rate = this.fetches.rate;
    const byRate = rate === undefined ? INITIAL_BLOCKS_PER_PIECE : (rate * this.timeoutMs) / 4000 / BLOCK_SIZE / this.maxInFlight;
    return Math.max(1, Math.floor(Math.min(this.blocksPerPiece, reqq / this.maxInFlight, byRate)));
  }

  fetchBlockInto(piece: number, begin: number, into: Buffer, signal: AbortSignal, onData?: (offset: number, length: number) => void): Promise<void> {
    return this.fetch(piece, begin, into, 1, signal, onData);
  }

  /** The parser copies each block straight into `into`; the signal withdraws what is still out; one sweep per peer enforces the deadline. */
  private async fetch(piece: number, begin: number, into: Buffer, window: number, signal: AbortSignal, onData?: (offset: number, length: number) => void, isDone?: () => boolean): Promise<void> {
    const job = { piece, begin, into, blockSize: this.maxBlock, window, signal, onData, isDone };
    try {
      await new BlocksFetch(this.conn, job, this.fetches).done;
    } catch (e) {
      if (e instanceof ChokedError) throw new SourceBusyError(e.message);
      throw e;
    }
  }

  /** Stop downloading; a dropped (failing or lying) peer is disconnected, others keep our uploads. */
  close(dropped = false): void {
    if (dropped) this.conn.close('dropped by the downloader');
    else this.conn.setDownloading(false);
  }
}
