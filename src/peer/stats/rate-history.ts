/**
 * Pure: bytes per second, one sample a second, for the last few minutes. Fed cumulative byte
 * counters (cheap to keep where bytes move); the difference between two feeds is a sample, so
 * nothing is computed between samples. A ring buffer: memory is fixed whatever the uptime.
 */

/** 5 minutes of 1 s samples. */
export const HISTORY_SECONDS = 300;

export interface RatePoint {
  /** When the sample was taken (ms since the epoch). */
  at: number;
  down: number;
  up: number;
}

export class RateHistory {
  private readonly at: Float64Array;
  private readonly down: Float64Array;
  private readonly up: Float64Array;
  /** Index of the next sample to write, and how many are held. */
  private next = 0;
  private size = 0;
  private last: { at: number; down: number; up: number } | undefined;

  constructor(readonly capacity = HISTORY_SECONDS) {
    this.at = new Float64Array(capacity);
    this.down = new Float64Array(capacity);
    this.up = new Float64Array(capacity);
  }

  /** Record the cumulative counters at `at`; from the second call on, one rate sample. */
  feed(at: number, downTotal: number, upTotal: number): void {
    const last = this.last;
    this.last = { at, down: downTotal, up: upTotal };
    if (!last || at <= last.at) return;
    const seconds = (at - last.at) / 1000;
    // A counter that went down (a source replaced) counts as no traffic, never as a negative rate.
    this.at[this.next] = at;
    this.down[this.next] = Math.max(0, downTotal - last.down) / seconds;
    this.up[this.next] = Math.max(0, upTotal - last.up) / seconds;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** The samples, oldest first. */
  points(): RatePoint[] {
    const out: RatePoint[] = [];
    for (let k = 0; k < this.size; k++) {
      const i = (this.next - this.size + k + this.capacity) % this.capacity;
      out.push({ at: this.at[i]!, down: this.down[i]!, up: this.up[i]! });
    }
    return out;
  }

  /** Mean rates over the last `n` samples (0 when there are none). */
  recent(n: number): { down: number; up: number } {
    const k = Math.min(n, this.size);
    let down = 0;
    let up = 0;
    for (let j = 1; j <= k; j++) {
      const i = (this.next - j + this.capacity) % this.capacity;
      down += this.down[i]!;
      up += this.up[i]!;
    }
    return k === 0 ? { down: 0, up: 0 } : { down: down / k, up: up / k };
  }
}
