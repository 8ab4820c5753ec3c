/**
 * Our block requests to one wire peer, keyed by (piece, offset). Each names the buffer its bytes
 * go into: the message parser copies a `piece` payload straight from the socket's chunks into it
 * (this is its BlockSink). A withdrawal (abort) sends a cancel; a choke or a close fails them all.
 */
import type { Message } from './messages.ts';
import type { BlockSink } from './message-parser.ts';
import { MAX_PIECE_LENGTH } from '../../metainfo/metainfo.ts';

/** One block we asked for: where its bytes go and whom to tell. */
export interface BlockRequest {
  readonly index: number;
  readonly begin: number;
  /** Exactly the block's length; written only while the request is pending. */
  readonly into: Buffer;
  /**
   * Called once: without an error `into` holds the block; after an error nothing more is written
   * into it. Called synchronously (from the parser, a reject, a choke, a close).
   */
  settled(error?: Error): void;
}

/**
 * A number per (piece, offset): exact for our requests (an offset is below the piece length,
 * at most MAX_PIECE_LENGTH, and a piece count below 2^26 keeps it a safe integer). A hostile
 * pair may share a number with another: every lookup checks the pair itself.
 */
const keyOf = (index: number, begin: number) => index * MAX_PIECE_LENGTH + begin;

export class OurRequests implements BlockSink {
  private readonly pending = new Map<number, BlockRequest>();

  /** `send` writes a message to the peer (the connection's); `received` counts the bytes of each block that arrived. */
  constructor(
    private readonly sendMessage: (m: Message) => void,
    private readonly received: (bytes: number) => void = () => {},
  ) {}

  /** Ask the peer for `r`; a pending request for the same block is replaced (and fails). */
  send(r: BlockRequest): void {
    const key = keyOf(r.index, r.begin);
    const old = this.pending.get(key);
    this.pending.set(key, r);
    this.sendMessage({ type: 'request', index: r.index, begin: r.begin, length: r.into.length });
    old?.settled(new Error('request replaced'));
  }

  /** Withdraw `r` if it is still pending (a cancel goes to the peer); it is not settled. */
  withdraw(r: BlockRequest): void {
    const key = keyOf(r.index, r.begin);
    if (this.pending.get(key) !== r) return;
    this.pending.delete(key);
    this.sendMessage({ type: 'cancel', index: r.index, begin: r.begin, length: r.into.length });
  }

  /** The pending request for exactly this block, if any. */
  private find(index: number, begin: number, length: number): BlockRequest | undefined {
    const r = this.pending.get(keyOf(index, begin));
    return r && r.index === index && r.begin === begin && r.into.length === length ? r : undefined;
  }

  blockTarget(index: number, begin: number, length: number): Buffer | undefined {
    return this.find(index, begin, length)?.into;
  }

  blockArrived(index: number, begin: number, target: Buffer): void {
    const r = this.find(index, begin, target.length);
    if (!r || r.into !== target) return;
    this.pending.delete(keyOf(index, begin));
    this.received(target.length);
    r.settled();
  }

  /** A whole block arrived (in a message): copied in, settles its request and returns true; unrequested or cancelled: false. */
  deliver(index: number, begin: number, block: Buffer): boolean {
    const into = this.blockTarget(index, begin, block.length);
    if (!into) return false;
    block.copy(into);
    this.blockArrived(index, begin, into);
    return true;
  }

  /** BEP 6: the peer rejected a request: fail it (not the source's fault: see ChokedError). */
  reject(index: number, begin: number, length: number, error: () => Error): void {
    const r = this.find(index, begin, length);
    if (!r) return;
    this.pending.delete(keyOf(index, begin));
    r.settled(error());
  }

  /** Fail every request (the peer choked us, or the connection closed), but those of pieces `keep` names. */
  failAll(error: () => Error, keep: (piece: number) => boolean = () => false): void {
    // All are forgotten before any is told, so that none of them sends a cancel for another.
    const failed: BlockRequest[] = [];
    for (const [key, r] of this.pending) {
      if (keep(r.index)) continue;
      this.pending.delete(key);
      failed.push(r);
    }
    for (const r of failed) r.settled(error());
  }
}
