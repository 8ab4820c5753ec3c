/**
 * The receiving half of a uTP connection: ack_nr, a bounded reorder buffer, the FIN's place.
 * Pure: in-order payloads go to a callback; the caller decides what to ack and when.
 */
import { buildSack, seqAdd, seqDiff } from './packet.ts';

/** Packets held beyond a gap, at most (the byte bound is the advertised window, checked by the caller). */
export const REORDER_SLOTS = 1024;
const MASK = REORDER_SLOTS - 1;

export type ReceiveResult = 'delivered' | 'stored' | 'duplicate' | 'out-of-window';

export class ReorderBuffer {
  /** The last sequence number received in order. */
  ackNr: number;
  /** Bytes held out of order. */
  bytes = 0;
  private held = 0;
  private readonly slots: (Buffer | undefined)[] = new Array<Buffer | undefined>(REORDER_SLOTS);
  private eofSeq: number | null = null;
  /** True once everything up to and including the FIN has arrived. */
  eof = false;

  constructor(initialAckNr: number) {
    this.ackNr = initialAckNr & 0xffff;
  }

  /** A data packet; `deliver` gets every payload that is now in order, in order. */
  receive(seq: number, payload: Buffer, deliver: (b: Buffer) => void): ReceiveResult {
    const d = seqDiff(seq, this.ackNr);
    if (d <= 0) return 'duplicate';
    if (d >= REORDER_SLOTS || (this.eofSeq !== null && seqDiff(seq, this.eofSeq) >= 0)) return 'out-of-window';
    if (d > 1) {
      const i = seq & MASK;
      if (this.slots[i] !== undefined) return 'duplicate';
      this.slots[i] = payload;
      this.held++;
      this.bytes += payload.length;
      return 'stored';
    }
    this.ackNr = seq;
    if (payload.length > 0) deliver(payload);
    this.drain(deliver);
    return 'delivered';
  }

  /** The peer's FIN at `seq`: no data at or after it will be taken. */
  receiveFin(seq: number): void {
    if (this.eofSeq === null && seqDiff(seq, this.ackNr) > 0 && seqDiff(seq, this.ackNr) < REORDER_SLOTS) {
      this.eofSeq = seq;
      this.dropFrom(seq);
    }
    this.checkEof();
  }

  /** Sequence numbers held past a gap, as a SACK bitmask (null when none). */
  sack(): Buffer | null {
    if (this.held === 0) return null;
    const seqs: number[] = [];
    for (let d = 2; d < 2 + 256 && d < REORDER_SLOTS; d++) {
      const seq = seqAdd(this.ackNr, d);
      if (this.slots[seq & MASK] !== undefined) seqs.push(seq);
    }
    return buildSack(this.ackNr, seqs);
  }

  private drain(deliver: (b: Buffer) => void): void {
    while (this.held > 0) {
      const next = seqAdd(this.ackNr, 1);
      const b = this.slots[next & MASK];
      if (b === undefined) break;
      this.slots[next & MASK] = undefined;
      this.held--;
      this.bytes -= b.length;
      this.ackNr = next;
      if (b.length > 0) deliver(b);
    }
    this.checkEof();
  }

  private checkEof(): void {
    if (this.eofSeq !== null && !this.eof && seqAdd(this.ackNr, 1) === this.eofSeq) {
      this.ackNr = this.eofSeq;
      this.eof = true;
    }
  }

  /** A FIN bounds the stream: anything stored at or past it was never sent by an honest peer. */
  private dropFrom(seq: number): void {
    for (let d = seqDiff(seq, this.ackNr); d < REORDER_SLOTS && this.held > 0; d++) {
      const i = seqAdd(this.ackNr, d) & MASK;
      const b = this.slots[i];
      if (b === undefined) continue;
      this.slots[i] = undefined;
      this.held--;
      this.bytes -= b.length;
    }
  }
}
