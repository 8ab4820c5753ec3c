/**
 * LEDBAT congestion control and RTT/RTO estimation for one uTP connection (BEP 29). Pure: the
 * caller passes times in. The window is in bytes; the delay samples are the peer's
 * timestamp_difference_microseconds (the one-way delay of our packets plus a clock offset).
 */

/** BEP 29: aim for 100 ms of queueing delay. */
const TARGET_DELAY_US = 100_000;
/** libutp's MAX_CWND_INCREASE_BYTES_PER_RTT: the gain at zero delay and a full window. */
const MAX_GAIN_BYTES_PER_RTT = 3000;
/** Base delay is the minimum over two one-minute buckets: BEP 29's 2-minute history. */
const BUCKET_MS = 60_000;
const BUCKETS = 2;
const MIN_RTO_MS = 500;
const MAX_RTO_MS = 16_000;
const INITIAL_RTO_MS = 1000;
/**
 * A SYN waits 3 s before it is resent, and is never probed, as libtorrent does: there is no RTT
 * yet, and libtorrent takes each resent SYN for a new connection (it routes our later packets to
 * that one, which ignores their acks): a SYN resent early can stall the connection for good.
 */
const SYN_RTO_MS = 3000;

export class Congestion {
  /** Congestion window in bytes. */
  cwnd: number;
  rto = INITIAL_RTO_MS;
  private srtt = 0;
  private rttVar = 0;
  private slowStart = true;
  private ssthresh: number;
  private readonly bases: number[] = [];
  private bucketStart = 0;
  /** Latest queueing delay estimate in microseconds (0 with no sample). */
  ourDelayUs = 0;

  constructor(
    private readonly mss: number,
    private readonly maxCwnd: number,
  ) {
    this.cwnd = 4 * mss;
    this.ssthresh = maxCwnd;
  }

  /** One RTT sample from a packet sent once (Karn); RFC 6298 smoothing, RTO at least 500 ms. */
  rttSample(ms: number): void {
    if (this.srtt === 0) {
      this.srtt = ms;
      this.rttVar = ms / 2;
    } else {
      this.rttVar += (Math.abs(this.srtt - ms) - this.rttVar) / 4;
      this.srtt += (ms - this.srtt) / 8;
    }
    this.rto = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, this.srtt + 4 * this.rttVar));
  }

  /** Feed a timestamp_difference sample (u32 with an unknown clock offset); 0 means none. */
  delaySample(sampleUs: number, nowMs: number): void {
    if (sampleUs === 0) return;
    if (this.bases.length === 0 || nowMs - this.bucketStart >= BUCKET_MS) {
      this.bases.push(sampleUs);
      if (this.bases.length > BUCKETS) this.bases.shift();
      this.bucketStart = nowMs;
    } else if (wrapLess(sampleUs, this.bases[this.bases.length - 1]!)) {
      this.bases[this.bases.length - 1] = sampleUs;
    }
    let base = this.bases[0]!;
    for (const b of this.bases) if (wrapLess(b, base)) base = b;
    // The clocks are unrelated; only the difference to the minimum means anything.
    this.ourDelayUs = Math.min((sampleUs - base) >>> 0, 10 * TARGET_DELAY_US);
  }

  /** `acked` bytes left the network: grow (slow start, then LEDBAT's scaled gain) or shrink by delay. */
  onAck(acked: number, inFlightBefore: number): void {
    const offTarget = TARGET_DELAY_US - this.ourDelayUs;
    if (this.slowStart && offTarget > TARGET_DELAY_US / 2 && this.cwnd < this.ssthresh) {
      this.cwnd += acked;
    } else {
      this.slowStart = false;
      // Gain scaled by how full the window was, so an idle sender does not inflate it.
      const windowFactor = Math.min(acked, Math.max(inFlightBefore, acked)) / Math.max(this.cwnd, 1);
      this.cwnd += (MAX_GAIN_BYTES_PER_RTT * offTarget * windowFactor) / TARGET_DELAY_US;
    }
    this.clamp();
  }

  /** A packet was lost (3 duplicate acks or SACKs): halve, leave slow start. */
  onLoss(): void {
    this.slowStart = false;
    this.ssthresh = Math.max(this.cwnd / 2, 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.clamp();
  }

  /** Retransmission timeout: back to one packet and slow start up to half the old window; back off the RTO. */
  onTimeout(): void {
    this.ssthresh = Math.max(this.cwnd / 2, 2 * this.mss);
    this.cwnd = this.mss;
    this.slowStart = true;
    this.rto = Math.min(MAX_RTO_MS, this.rto * 2);
  }

  /** How long the oldest packet in flight may wait for its ack: a SYN at least SYN_RTO_MS. */
  timeoutFor(syn: boolean): number {
    return syn ? Math.max(SYN_RTO_MS, this.rto) : this.rto;
  }

  get smoothedRttMs(): number {
    return this.srtt;
  }

  private clamp(): void {
    this.cwnd = Math.max(this.mss, Math.min(this.maxCwnd, this.cwnd));
  }
}

/** a < b for u32 values that may wrap (their distance is under 2^31). */
function wrapLess(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
