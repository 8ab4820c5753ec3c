/**
 * A counting semaphore over bytes: bounds the memory held by pieces in flight. A request larger
 * than the whole budget is let through when nothing else is held, so a huge piece cannot deadlock.
 */
export class ByteBudget {
  private used = 0;
  private queue: Array<{ bytes: number; resolve: (granted: boolean) => void }> = [];
  private cancelled = false;

  constructor(private readonly capacity: number) {}

  /** Resolves true when `bytes` are granted, false if the budget was cancelled. */
  acquire(bytes: number): Promise<boolean> {
    if (this.cancelled) return Promise.resolve(false);
    if (this.queue.length === 0 && this.fits(bytes)) {
      this.used += bytes;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.queue.push({ bytes, resolve }));
  }

  release(bytes: number): void {
    this.used -= bytes;
    while (this.queue.length && this.fits(this.queue[0]!.bytes)) {
      const next = this.queue.shift()!;
      this.used += next.bytes;
      next.resolve(true);
    }
  }

  cancelAll(): void {
    this.cancelled = true;
    for (const w of this.queue) w.resolve(false);
    this.queue = [];
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.capacity;
  }
}
