/**
 * The incremental parser of the wire protocol's messages (BEP 3 framing: messages.ts), with piece
 * payloads streamed to a sink (our requests) instead of being made into messages.
 */
import { decodeMessage, Id, WireError, type Message } from './messages.ts';

export interface ParserLimits {
  /** Longest message accepted (id + payload). */
  maxMessage: number;
  /** Where piece payloads go, straight from the chunks; without it they come out as messages. */
  blocks?: BlockSink;
}

/**
 * The receiver of piece payloads (our requests): the parser copies each payload once, from the
 * socket's chunks into the buffer named here, and never makes a message or a buffer of it.
 */
export interface BlockSink {
  /**
   * Where the `length` payload bytes of piece message (index, begin) go: a buffer of exactly
   * `length` bytes, or undefined to drop them (unrequested, or no longer wanted). Asked again
   * before each later chunk of the same payload: nothing more is written into a buffer whose
   * request was withdrawn meanwhile.
   */
  blockTarget(index: number, begin: number, length: number): Buffer | undefined;
  /** The whole block is in `target`. */
  blockArrived(index: number, begin: number, target: Buffer): void;
}

/** A handler of parsed messages; false stops the parser (the connection closed). */
export type OnMessage = (m: Message) => boolean | void;

const KEEP_ALIVE: Message = { type: 'keep-alive' };
/** Length prefix, id, index and begin: what a piece message says before its payload. */
const PIECE_HEAD = 13;

/**
 * Incremental parser: feed it socket chunks, get whole messages. It keeps no view of a chunk
 * after `feed` returns (a transport may read every chunk into one reused buffer): a frame that
 * spans chunks is copied, its header into a 13-byte scratch, its body into a buffer of its
 * length, bounded by `maxMessage` and refused before any allocation.
 */
export class MessageParser {
  private readonly head = Buffer.allocUnsafe(PIECE_HEAD);
  private headLength = 0;
  /** A message body that spans chunks (not a piece payload for the sink). */
  private body: Buffer | undefined;
  private bodyFilled = 0;
  /** The piece payload under way to the sink: which block, its buffer (or none: dropped), bytes left. */
  private inBlock = false;
  private blockIndex = 0;
  private blockBegin = 0;
  private blockLength = 0;
  private blockGot = 0;
  private target: Buffer | undefined;

  constructor(private readonly limits: ParserLimits) {}

  /** Bytes held of a message not yet whole (payloads given to the sink are not held). */
  get buffered(): number {
    return this.headLength + this.bodyFilled;
  }

  /** Append `chunk`; returns every complete message now available. Throws WireError. */
  push(chunk: Buffer): Message[] {
    const out: Message[] = [];
    this.feed(chunk, (m) => void out.push(m));
    return out;
  }

  /** Parse `chunk`, calling `onMessage` for each message in order (and the sink for blocks). Throws WireError. */
  feed(chunk: Buffer, onMessage: OnMessage): void {
    // A payload that continues from the last chunk: its request may have been withdrawn since.
    if (this.inBlock && this.target) this.target = this.limits.blocks!.blockTarget(this.blockIndex, this.blockBegin, this.blockLength) === this.target ? this.target : undefined;
    const end = chunk.length;
    let at = 0;
    while (at < end) {
      if (this.inBlock) {
        at = this.blockBytes(chunk, at);
        continue;
      }
      if (this.body) {
        const n = Math.min(this.body.length - this.bodyFilled, end - at);
        chunk.copy(this.body, this.bodyFilled, at, at + n);
        this.bodyFilled += n;
        at += n;
        if (this.bodyFilled < this.body.length) break;
        const body = this.body;
        this.body = undefined;
        this.bodyFilled = 0;
        if (onMessage(decodeMessage(body)) === false) return;
        continue;
      }
      if (this.headLength === 0 && end - at >= 5) {
        // The common case: a frame's start within this chunk, read in place.
        const len = this.checkLength(chunk.readUInt32BE(at));
        if (len === 0) {
          at += 4;
          if (onMessage(KEEP_ALIVE) === false) return;
          continue;
        }
        if (chunk[at + 4] === Id.Piece && this.limits.blocks) {
          if (end - at >= PIECE_HEAD) {
            this.startBlock(len, chunk, at);
            at += PIECE_HEAD;
            continue;
          }
        } else if (end - at >= 4 + len) {
          if (onMessage(decodeMessage(chunk.subarray(at + 4, at + 4 + len))) === false) return;
          at += 4 + len;
          continue;
        }
      }
      const r = this.headBytes(chunk, at, onMessage);
      if (r < 0) return;
      at = r;
    }
  }

  /** A frame's start that spans chunks, byte ranges copied into `head`; -1 if `onMessage` stopped. */
  private headBytes(chunk: Buffer, at: number, onMessage: OnMessage): number {
    at = this.fillHead(chunk, at, 4);
    if (this.headLength < 4) return at;
    const len = this.checkLength(this.head.readUInt32BE(0));
    if (len === 0) {
      this.headLength = 0;
      return onMessage(KEEP_ALIVE) === false ? -1 : at;
    }
    at = this.fillHead(chunk, at, 5);
    if (this.headLength < 5) return at;
    if (this.head[4] === Id.Piece && this.limits.blocks) {
      if (len < 9) throw new WireError('piece message too short');
      at = this.fillHead(chunk, at, PIECE_HEAD);
      if (this.headLength < PIECE_HEAD) return at;
      this.headLength = 0;
      this.startBlock(len, this.head, 0);
      return at;
    }
    this.headLength = 0;
    if (len === 1) return onMessage(decodeMessage(this.head.subarray(4, 5))) === false ? -1 : at;
    this.body = Buffer.allocUnsafe(len);
    this.body[0] = this.head[4]!;
    this.bodyFilled = 1;
    return at;
  }

  private fillHead(chunk: Buffer, at: number, need: number): number {
    const n = Math.min(need - this.headLength, chunk.length - at);
    if (n <= 0) return at;
    chunk.copy(this.head, this.headLength, at, at + n);
    this.headLength += n;
    return at + n;
  }

  private checkLength(len: number): number {
    if (len > this.limits.maxMessage) throw new WireError(`message of ${len} bytes is over the limit of ${this.limits.maxMessage}`);
    return len;
  }

  /** A piece message's 13-byte head at `b[at]`: its payload goes to the sink's buffer, or nowhere. */
  private startBlock(len: number, b: Buffer, at: number): void {
    if (len < 9) throw new WireError('piece message too short');
    this.inBlock = true;
    this.blockIndex = b.readUInt32BE(at + 5);
    this.blockBegin = b.readUInt32BE(at + 9);
    this.blockLength = len - 9;
    this.blockGot = 0;
    this.target = this.limits.blocks!.blockTarget(this.blockIndex, this.blockBegin, this.blockLength);
    if (this.blockLength === 0) this.endBlock();
  }

  /** Payload bytes from `chunk[at]` on: copied into the target (if it is still wanted). */
  private blockBytes(chunk: Buffer, at: number): number {
    const n = Math.min(this.blockLength - this.blockGot, chunk.length - at);
    if (this.target) chunk.copy(this.target, this.blockGot, at, at + n);
    this.blockGot += n;
    if (this.blockGot === this.blockLength) this.endBlock();
    return at + n;
  }

  private endBlock(): void {
    this.inBlock = false;
    const target = this.target;
    this.target = undefined;
    if (target) this.limits.blocks!.blockArrived(this.blockIndex, this.blockBegin, target);
  }
}
