/**
 * Reuse of the buffers a peer answers pieces from. Without it every `/piece` answer is a fresh
 * 1-4 MiB Buffer, and collecting them was a large share of the seeder's CPU. A buffer comes back only once its answer has been fully written (never one
 * a socket may still be sending from), and only a few are kept, so memory stays bounded.
 */
export class BufferRecycler {
  private readonly free: Buffer[] = [];

  constructor(private readonly maxFree = 4) {}

  /** A buffer of exactly `size` bytes (contents undefined). */
  take(size: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      if (this.free[i]!.length === size) return this.free.splice(i, 1)[0]!;
    }
    // Its own allocation (not Node's shared slab), so that keeping it pins nothing else.
    return Buffer.allocUnsafeSlow(size);
  }

  /** Give back a buffer nobody reads or writes any more. */
  give(buf: Buffer): void {
    if (this.free.length >= this.maxFree) this.free.shift();
    this.free.push(buf);
  }
}
