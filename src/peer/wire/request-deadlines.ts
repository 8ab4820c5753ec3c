/**
 * Deadlines for our block requests to one peer: one timer for all of them, instead of an
 * AbortController, a timer and two listeners per 16 KiB block (profiled, those were a tenth of
 * the requester's CPU over the wire). A request still unanswered `ms` after it was sent fails
 * within ms..1.25 ms; whatever withdraws it from the peer (the piece's signal, as its fetch
 * fails) is the caller's business.
 */

interface Entry {
  at: number;
  reject(e: Error): void;
}

export class RequestDeadlines {
  /** Unanswered requests, oldest first (a Set keeps insertion order). */
  private readonly waiting = new Set<Entry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    /** The error a request that ran out of time fails with. */
    private readonly expired: () => Error,
  ) {}

  /** `p`, or a rejection with `expired()` if it has not settled within the deadline. */
  watch<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = { at: performance.now(), reject };
      this.waiting.add(entry);
      this.arm();
      p.then(
        (v) => {
          this.waiting.delete(entry);
          resolve(v);
        },
        (e: unknown) => {
          this.waiting.delete(entry);
          reject(e);
        },
      );
    });
  }

  /** Requests being watched. */
  get size(): number {
    return this.waiting.size;
  }

  private arm(): void {
    if (this.timer) return;
    // Referenced, as the per-block timers were: it runs only while requests wait.
    this.timer = setTimeout(() => this.sweep(), Math.max(1, this.ms / 4));
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const e of this.waiting) {
      if (now - e.at < this.ms) break; // the rest are younger
      this.waiting.delete(e);
      e.reject(this.expired());
    }
    if (this.waiting.size > 0) this.arm();
  }
}
