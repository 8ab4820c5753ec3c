/** A peer reached over the BitTorrent wire protocol: 16 KiB blocks, several requests in flight. */
import { SourceBusyError, type PieceSource } from '../source.ts';
import { ChokedError, type WireConnection } from '../../peer/wire/connection.ts';
import { BLOCK_SIZE } from '../../peer/wire/messages.ts';
import { normalizeAddress } from '../../bittorrent/address.ts';
import { RequestDeadlines } from '../../peer/wire/request-deadlines.ts';

export class WireSource implements PieceSource {
  readonly id: string;
  readonly address: string;
  readonly maxBlock = BLOCK_SIZE;
  readonly maxInFlight = 4;
  /** Blocks of one piece requested at once: 4 pieces x 16 blocks = 64 requests in flight. */
  readonly blocksPerPiece = 16;
  private readonly deadlines: RequestDeadlines;

  constructor(
    private readonly conn: WireConnection,
    readonly label: string,
    private readonly timeoutMs: number,
  ) {
    this.id = WireSource.idFor(conn.peerId);
    // Taken now: a destroyed socket forgets its remote address.
    this.address = normalizeAddress(conn.socket.remoteAddress ?? '');
    this.deadlines = new RequestDeadlines(timeoutMs, () => new Error(`peer ${label} sent nothing for ${timeoutMs / 1000} s`));
  }

  /** One source per remote peer_id, whichever side dialled. */
  static idFor(peerId: Buffer): string {
    return `wire:${peerId.toString('hex')}`;
  }

  async connect(): Promise<void> {
    if (this.conn.closed) throw new Error(`peer ${this.label} is closed`);
    this.conn.interested(true);
  }

  has(piece: number): boolean {
    return !this.conn.closed && this.conn.peerHave.has(piece);
  }

  /** Requests go out only while the peer has us unchoked. */
  ready(): boolean {
    return !this.conn.closed && !this.conn.peerChoking;
  }

  async fetchBlock(piece: number, begin: number, length: number, signal: AbortSignal): Promise<Buffer> {
    try {
      // The piece's signal withdraws the request; one sweep timer per peer enforces the deadline.
      return await this.deadlines.watch(this.conn.request(piece, begin, length, signal));
    } catch (e) {
      if (e instanceof ChokedError) throw new SourceBusyError(e.message);
      throw e;
    }
  }

  /** Stop downloading; a dropped (failing or lying) peer is disconnected, others keep our uploads. */
  close(dropped = false): void {
    if (dropped) this.conn.close('dropped by the downloader');
    else this.conn.interested(false);
  }
}
