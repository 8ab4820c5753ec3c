/**
 * The buffers HTTP answers are sent from. Large chunks (1 MiB) cost far less CPU per byte than
 * small ones (128 KiB), but each answer holds two until its client takes them, and clients that never read hold theirs until the send deadline. So
 * large chunks go to answers only while few are out (a fixed budget for the process); the others
 * use small ones. Memory stays bounded however many answers stall: the large budget plus two
 * small chunks per connection.
 */
import { BufferRecycler } from './buffer-recycler.ts';

/** An answer's buffers: two (one being sent, one read ahead) if it needs more than one. */
export interface Chunks {
  bufs: Buffer[];
  /** Counted in the large budget. */
  large: boolean;
}

export class ChunkPool {
  private largeOut = 0;
  /** A piece answer's buffer is its exact size, so answers of one torrent reuse each other's. */
  private readonly large = new BufferRecycler(8);
  private readonly small = new BufferRecycler(16);

  constructor(
    readonly largeSize = 1024 * 1024,
    readonly smallSize = 128 * 1024,
    /** Large buffers out at once (16 MiB: eight fast clients at full speed). */
    readonly maxLarge = 16,
  ) {}

  take(length: number): Chunks {
    if (length <= this.smallSize) return { bufs: [this.small.take(this.smallSize)], large: false };
    if (this.largeOut + 2 > this.maxLarge) return { bufs: [this.small.take(this.smallSize), this.small.take(this.smallSize)], large: false };
    const bufs = length <= this.largeSize ? [this.large.take(length)] : [this.large.take(this.largeSize), this.large.take(this.largeSize)];
    this.largeOut += bufs.length;
    return { bufs, large: true };
  }

  /**
   * Give back an answer's buffers. `reusable` only if every write from them completed: the
   * buffers of an aborted answer are dropped, as a socket may still point into them.
   */
  give(chunks: Chunks, reusable: boolean): void {
    if (chunks.large) this.largeOut -= chunks.bufs.length;
    if (!reusable) return;
    for (const b of chunks.bufs) (chunks.large ? this.large : this.small).give(b);
  }
}
