/** A peer reached over the BitTorrent wire protocol: 16 KiB blocks, several requests in flight. */
import { SourceBusyError, type PieceSource } from '../source.ts';
import { ChokedError, type WireConnection } from '../../peer/wire/connection.ts';
import { BLOCK_SIZE } from '../../peer/wire/messages.ts';
import { BlocksFetch, FetchDeadlines } from './wire-blocks.ts';

export class WireSource implements PieceSource {
  readonly id: string;
  readonly address: string;
  readonly maxBlock = BLOCK_SIZE;
  readonly maxInFlight = 4;
  /** Blocks of one piece requested at once: 4 pieces x 16 blocks = 64 requests in flight. */
  readonly blocksPerPiece = 16;
  private readonly deadlines: FetchDeadlines;

  constructor(
    private readonly conn: WireConnection,
    readonly label: string,
    private readonly timeoutMs: number,
  ) {
    this.id = WireSource.idFor(conn.peerId);
    this.address = conn.address;
    this.deadlines = new FetchDeadlines(timeoutMs, () => new Error(`peer ${label} sent nothing for ${timeoutMs / 1000} s`));
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

  /** Wake the scheduler at once when the peer gains a piece or lets us ask (no polling). */
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
    for (const e of ['have', 'bitfield', 'unchoke', 'allowed-fast']) this.conn.on(e, coalesced);
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
    return this.fetch(piece, 0, buf, this.blocksPerPiece, signal, onData, isDone);
  }

  fetchBlockInto(piece: number, begin: number, into: Buffer, signal: AbortSignal, onData?: (offset: number, length: number) => void): Promise<void> {
    return this.fetch(piece, begin, into, 1, signal, onData);
  }

  /** The parser copies each block straight into `into`; the signal withdraws what is still out; one sweep per peer enforces the deadline. */
  private async fetch(piece: number, begin: number, into: Buffer, window: number, signal: AbortSignal, onData?: (offset: number, length: number) => void, isDone?: () => boolean): Promise<void> {
    const job = { piece, begin, into, blockSize: this.maxBlock, window, signal, onData, isDone };
    try {
      await new BlocksFetch(this.conn, job, this.deadlines).done;
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
