/**
 * A fixed set of piece-sized buffers, allocated once (on first use) and reused for every piece:
 * a piece in flight holds one from before its first request until its write completed. Their
 * number bounds the memory of pieces in flight, and no buffer per piece is left for the garbage
 * collector. One buffer is always allowed, so a piece larger than the whole budget still goes.
 */
export class PiecePool {
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private waiters: Array<(buf: Buffer | undefined) => void> = [];
  private cancelled = false;
  readonly capacity: number;

  constructor(
    readonly pieceLength: number,
    budgetBytes: number,
  ) {
    this.capacity = Math.max(1, Math.floor(budgetBytes / pieceLength));
  }

  /** A buffer of `pieceLength` bytes (contents undefined), or undefined once cancelled. */
  acquire(): Promise<Buffer | undefined> {
    if (this.cancelled) return Promise.resolve(undefined);
    const buf = this.free.pop() ?? this.allocate();
    if (buf) return Promise.resolve(buf);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(buf: Buffer): void {
    if (this.cancelled) return; // let it go
    const next = this.waiters.shift();
    if (next) next(buf);
    else this.free.push(buf);
  }

  /** Wake every waiter with undefined and forget the buffers (the download is over). */
  cancelAll(): void {
    this.cancelled = true;
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
    this.free.length = 0;
  }

  /** A buffer can be had at once (one is free, or another may be allocated) and nobody waits. */
  get available(): boolean {
    return this.waiters.length === 0 && (this.free.length > 0 || this.allocated < this.capacity);
  }

  /** Acquirers waiting for a buffer (the downloader frees slow fetches' buffers for them). */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Buffers in use or free, allocated so far. */
  get size(): number {
    return this.allocated;
  }

  private allocate(): Buffer | undefined {
    if (this.allocated >= this.capacity) return undefined;
    this.allocated++;
    // Each buffer is its own allocation, released as a whole, and shared memory, so that the
    // piece store's writer thread writes it to disk without a copy (storage/disk-writer.ts).
    return Buffer.from(new SharedArrayBuffer(this.pieceLength));
  }
}
