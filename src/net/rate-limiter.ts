/**
 * A byte-rate cap shared by everything a process uploads: a token bucket that senders draw from
 * in small slices, just before each slice is written to its socket. Nothing is reserved for data
 * not yet written, so an answer whose client went away stops costing the moment it stops
 * (its waiting `take` is withdrawn by its signal). Waiters are served first come, first served;
 * since each connection waits for one slice at a time, connections take turns (round robin),
 * and a new request waits for at most one slice per active connection.
 */

/** The largest slice a sender should take at once: the unit of fairness between connections. */
export const RATE_SLICE = 64 * 1024;

interface Waiter {
  bytes: number;
  resolve(granted: boolean): void;
  /** Set when its signal aborted: skipped (and dropped) when it reaches the head. */
  withdrawn: boolean;
}

const GRANTED = Promise.resolve(true);
const WITHDRAWN = Promise.resolve(false);

export class RateLimiter {
  /** May go below zero: a slice larger than the bucket is granted on credit, and paid back before the next. */
  private tokens: number;
  private last = performance.now();
  private readonly capacity: number;
  private readonly queue: Waiter[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly bytesPerSecond: number,
    burstMs = 100,
  ) {
    this.capacity = Math.max(1, (bytesPerSecond * burstMs) / 1000);
    this.tokens = this.capacity;
  }

  /**
   * Resolves true once `bytes` may be written now, or false if `signal` aborted first (then
   * nothing was spent). O(1); no timer and no allocation while under the rate.
   */
  take(bytes: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return WITHDRAWN;
    this.refill();
    if (this.head === this.queue.length && this.tokens > 0) {
      this.tokens -= bytes;
      return GRANTED;
    }
    return new Promise((resolve) => {
      const w: Waiter = { bytes, resolve, withdrawn: false };
      if (signal) {
        const onAbort = () => {
          w.withdrawn = true;
          resolve(false);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        w.resolve = (granted) => {
          signal.removeEventListener('abort', onAbort);
          resolve(granted);
        };
      }
      this.queue.push(w);
      this.schedule();
    });
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000);
    this.last = now;
  }

  /** Grant waiters in order while there is credit; then sleep until there is credit again. */
  private pump(): void {
    this.timer = undefined;
    this.refill();
    while (this.head < this.queue.length) {
      const w = this.queue[this.head]!;
      if (!w.withdrawn) {
        if (this.tokens <= 0) break;
        this.tokens -= w.bytes;
        w.resolve(true);
      }
      this.queue[this.head++] = undefined as unknown as Waiter;
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head); // amortised O(1): done once the dead prefix is the larger half
      this.head = 0;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.head === this.queue.length) return;
    const wait = Math.max(1, ((1 - this.tokens) * 1000) / this.bytesPerSecond);
    this.timer = setTimeout(() => this.pump(), wait);
  }
}
