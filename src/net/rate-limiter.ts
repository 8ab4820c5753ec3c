/**
 * A byte-rate cap shared by everything a process uploads (a virtual-clock token bucket): each
 * `take(n)` is scheduled `n / rate` seconds after the previous one, with up to `burstMs` of unused
 * credit. FIFO, O(1), no timers when under the rate.
 */
export class RateLimiter {
  private next = 0;

  constructor(
    readonly bytesPerSecond: number,
    private readonly burstMs = 100,
  ) {}

  async take(bytes: number): Promise<void> {
    const now = performance.now();
    this.next = Math.max(this.next, now - this.burstMs) + (bytes / this.bytesPerSecond) * 1000;
    const wait = this.next - now;
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
}
