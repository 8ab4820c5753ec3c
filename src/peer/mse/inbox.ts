/** The bytes a handshake has received but not yet consumed; bounded by the machines that use it. */
export class Inbox {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  get length(): number {
    return this.buf.length;
  }

  /** Remove and return the first `n` bytes (the caller checked that they are there). */
  take(n: number): Buffer {
    const head = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return head;
  }

  indexOf(pattern: Buffer): number {
    return this.buf.indexOf(pattern);
  }

  /** Everything left, emptying the inbox. */
  drain(): Buffer {
    return this.take(this.buf.length);
  }
}

/** Random padding of 0..max bytes (PadA, PadB: they hide the handshake's length pattern). */
export function randomPadLength(max: number): number {
  return Math.floor(Math.random() * (max + 1));
}
