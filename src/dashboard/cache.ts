/**
 * Bounding what the dashboards' reads cost, whatever the number of viewers: answers shared for a
 * short time (and while being computed), and at most a few expensive computations at once.
 */

/** Answers by key, kept `ttlMs` after they were made; one computation per key at a time. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 64,
  ) {}

  get(key: string, make: () => Promise<V>, now = Date.now()): Promise<V> {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.until > now) return hit.value;
    if (this.entries.size >= this.maxEntries) this.evict(now);
    // Until it settles the entry never expires (callers share it); a failure is not kept.
    const entry = { value: make(), until: Infinity };
    this.entries.set(key, entry);
    entry.value.then(
      () => (entry.until = Date.now() + this.ttlMs),
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  private evict(now: number): void {
    for (const [k, e] of this.entries) if (e.until <= now) this.entries.delete(k);
    // Still full of live entries: drop the oldest inserted.
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** Refused because too much work is queued already (answer 503). */
export class BusyError extends Error {}

/** At most `concurrency` jobs at once and `maxWaiting` queued; beyond, BusyError at once. */
export class WorkQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxWaiting) throw new BusyError('busy: try again in a moment');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    try {
      return await job();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
