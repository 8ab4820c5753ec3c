/**
 * Our upload to one wire peer: its block requests checked and queued (bounded), then served one
 * block at a time from the piece store, under the upload cap, waiting for the socket to drain.
 * A peer that takes none of our bytes for too long is closed (send watchdog).
 */
import type { PeerSocket } from './peer-socket.ts';
import type { SharedTorrent, UploadCounter } from '../shared-torrent.ts';
import type { RateLimiter } from '../../net/rate-limiter.ts';
import { pieceSize } from '../../metainfo/metainfo.ts';
import { BLOCK_SIZE, WireError, type Message } from './messages.ts';
import { RequestQueue, type BlockRequest } from './request-queue.ts';
import { SendWatchdog } from '../send-watchdog.ts';
import { serveBatches } from './block-sender.ts';

/** Outstanding requests a peer may have with us: libtorrent keeps up to 500, so well above. */
export const MAX_PEER_REQUESTS = 2000;
const DEFAULT_SEND_TIMEOUT_MS = 30_000;

export interface UploadContext {
  counter: UploadCounter;
  limiter?: RateLimiter;
  /** A peer that takes none of our bytes for this long while we have some for it is closed. */
  sendTimeoutMs?: number;
}

/** What the uploader needs of its connection (a WireConnection). */
export interface UploadLink {
  readonly socket: PeerSocket;
  readonly torrent: SharedTorrent;
  readonly closed: boolean;
  readonly amChoking: boolean;
  /** BEP 6 on this connection: every request gets a piece or a reject. */
  readonly fast: boolean;
  /** BEP 16: pieces offered to the peer when its torrent is super-seeded. */
  readonly offered: ReadonlySet<number>;
  /** BEP 6: `granted` are the pieces the peer may have while choked. */
  readonly fastLink: { readonly granted: ReadonlySet<number> };
  uploaded: number;
  send(m: Message): void;
  close(reason: string): void;
}

export class Uploader {
  private readonly incoming: RequestQueue;
  private serving = false;
  /** Aborts on close: withdraws a wait for upload budget. */
  private readonly closing = new AbortController();
  private readonly watchdog: SendWatchdog;

  constructor(
    private readonly link: UploadLink,
    private readonly ctx: UploadContext,
  ) {
    this.incoming = new RequestQueue(link.torrent.meta.pieceLength);
    this.watchdog = new SendWatchdog(ctx.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS, () => link.close('took none of our data for too long'));
  }

  /** The peer asked for a block: a malformed request throws a WireError (the connection closes). */
  request(index: number, begin: number, length: number): void {
    const { meta, have } = this.link.torrent;
    if (index >= meta.pieceCount) throw new WireError(`request for piece ${index} of ${meta.pieceCount}`);
    if (length === 0 || length > BLOCK_SIZE) throw new WireError(`request of ${length} bytes (more than 16 KiB)`);
    if (begin + length > pieceSize(meta, index)) throw new WireError(`request past the end of piece ${index}`);
    // Not ours to give, or not allowed now: dropped (BEP 3), or rejected (BEP 6).
    const hidden = this.link.torrent.superSeeding && !this.link.offered.has(index);
    if (!have.has(index) || hidden || !this.allowedNow(index)) return this.refuse(index, begin, length);
    if (this.incoming.size >= MAX_PEER_REQUESTS) throw new WireError(`more than ${MAX_PEER_REQUESTS} outstanding requests`);
    if (this.incoming.push(index, begin, length)) void this.serve();
    else this.refuse(index, begin, length); // the same block asked again with another length
  }

  /** BEP 6: a cancelled request still gets its one answer, a reject. */
  cancel(index: number, begin: number, length: number): void {
    if (this.incoming.cancel(index, begin, length) && this.link.fast) this.link.send({ type: 'reject', index, begin, length });
  }

  /** We choked the peer: BEP 3 discards its pending requests; BEP 6 rejects each, allowed-fast ones aside. */
  choked(): void {
    if (!this.link.fast) return this.incoming.clear();
    const kept: BlockRequest[] = [];
    for (let r = this.incoming.shift(); r; r = this.incoming.shift()) {
      if (this.link.fastLink.granted.has(r.index)) kept.push(r);
      else this.link.send({ type: 'reject', ...r });
    }
    for (const r of kept) this.incoming.push(r.index, r.begin, r.length);
  }

  private allowedNow(index: number): boolean {
    return !this.link.amChoking || (this.link.fast && this.link.fastLink.granted.has(index));
  }

  private refuse(index: number, begin: number, length: number): void {
    if (this.link.fast) this.link.send({ type: 'reject', index, begin, length });
  }

  /** The connection closed: stop serving, withdraw any wait. */
  close(): void {
    this.watchdog.idle();
    this.closing.abort();
    this.incoming.clear();
  }

  /** Send queued blocks in batches (block-sender.ts); memory: two batches per connection. */
  private async serve(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    const { link, ctx, watchdog } = this;
    try {
      await serveBatches(link, this.incoming, {
        store: link.torrent.store,
        pieceLength: link.torrent.meta.pieceLength,
        limiter: ctx.limiter,
        signal: this.closing.signal,
        sent: (bytes) => {
          link.uploaded += bytes;
          ctx.counter.uploaded += bytes;
        },
        waiting: (yes) => (yes ? watchdog.waiting() : watchdog.idle()),
        allowed: (r) => this.allowedNow(r.index),
        dropped: (r) => this.refuse(r.index, r.begin, r.length),
      });
    } catch (e) {
      link.close(`cannot serve: ${(e as Error).message}`);
    } finally {
      this.serving = false;
    }
  }
}
