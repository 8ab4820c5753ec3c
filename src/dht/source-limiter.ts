/**
 * Datagrams per second from one address, and from everyone, for the DHT: token buckets, the
 * per-address ones in a table of bounded size (a flood from forged addresses evicts the oldest
 * entries, and still meets the global bucket). Pure: the caller gives the time.
 */

export interface SourceLimits {
  /** Datagrams a second from one address (burst: twice as many). */
  perAddress: number;
  /** Datagrams a second from everyone together (burst: twice as many). */
  total: number;
  /** Addresses tracked at once. */
  maxAddresses: number;
}

/** A DHT node answers a few queries a second per peer; a lookup gets one answer per node asked. */
export const DEFAULT_SOURCE_LIMITS: SourceLimits = { perAddress: 50, total: 1000, maxAddresses: 4096 };

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly all: Bucket;
  /** Datagrams refused so far (for tests and reports). */
  refused = 0;

  constructor(
    private readonly limits: SourceLimits = DEFAULT_SOURCE_LIMITS,
    now = 0,
  ) {
    this.all = { tokens: 2 * limits.total, at: now };
  }

  get trackedAddresses(): number {
    return this.buckets.size;
  }

  /** May a datagram from `address` go on at time `nowMs`? Spends a token from both buckets if so. */
  allow(address: string, nowMs: number): boolean {
    let b = this.buckets.get(address);
    if (b === undefined) {
      if (this.buckets.size >= this.limits.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: 2 * this.limits.perAddress, at: nowMs };
      this.buckets.set(address, b);
    }
    const ok = refill(b, this.limits.perAddress, nowMs) >= 1 && refill(this.all, this.limits.total, nowMs) >= 1;
    if (!ok) {
      this.refused++;
      return false;
    }
    b.tokens--;
    this.all.tokens--;
    return true;
  }
}

function refill(b: Bucket, rate: number, nowMs: number): number {
  b.tokens = Math.min(2 * rate, b.tokens + (Math.max(0, nowMs - b.at) * rate) / 1000);
  b.at = nowMs;
  return b.tokens;
}
