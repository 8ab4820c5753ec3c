/**
 * The tracker's numbers, kept as plain counters on the hot path (an increment, no labels hashed,
 * no allocation): every front end records here, and /metrics, /stats read them when scraped.
 */

export type Transport = 'http' | 'udp';
export type RequestKind = 'announce' | 'scrape' | 'connect';
/**
 * Why a request was refused: a short, fixed set, so a metric label never grows with what clients
 * send (the error's text goes to the client, not to the metrics).
 */
export type FailureReason = 'bad_request' | 'not_registered' | 'store_full' | 'store_unavailable' | 'bad_connection_id' | 'busy' | 'internal';

export const TRANSPORTS: readonly Transport[] = ['http', 'udp'];
export const REQUEST_KINDS: readonly RequestKind[] = ['announce', 'scrape', 'connect'];
export const FAILURE_REASONS: readonly FailureReason[] = ['bad_request', 'not_registered', 'store_full', 'store_unavailable', 'bad_connection_id', 'busy', 'internal'];

/** Upper bounds, in seconds, of the latency histograms' buckets (the last bucket is +Inf). */
export const LATENCY_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A cumulative-on-read histogram: one count per bucket, plus the sum, as Prometheus wants it. */
export class LatencyHistogram {
  /** Per bucket (not cumulative), the last one for values over every bound. */
  readonly counts = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

export interface RequestCounts {
  ok: number;
  failed: number;
}

/** The JSON of /stats, and what cluster aggregation adds up (every field is a sum). */
export interface StatsSnapshot {
  requests: Record<Transport, Record<RequestKind, RequestCounts>>;
  failures: Record<FailureReason, number>;
  latency: Record<Transport, { buckets: number[]; sum: number; count: number }>;
  store: { roundTrips: { buckets: number[]; sum: number; count: number }; errors: number };
}

export class TrackerStats {
  private readonly requests = new Float64Array(TRANSPORTS.length * REQUEST_KINDS.length * 2);
  private readonly failures = new Float64Array(FAILURE_REASONS.length);
  readonly latency: Record<Transport, LatencyHistogram> = { http: new LatencyHistogram(), udp: new LatencyHistogram() };
  readonly storeRoundTrips = new LatencyHistogram();
  storeErrors = 0;

  /** A request answered (`ok`) or refused, and how long its answer took (announce and scrape). */
  answered(transport: Transport, kind: RequestKind, ok: boolean, seconds?: number): void {
    this.requests[slot(transport, kind) * 2 + (ok ? 0 : 1)]!++;
    if (seconds !== undefined) this.latency[transport].observe(seconds);
  }

  /** A refusal's reason (call `answered(..., false)` too). */
  failed(reason: FailureReason): void {
    this.failures[FAILURE_REASONS.indexOf(reason)]!++;
  }

  /** One round trip to a shared store (Redis), or one that failed. */
  storeRoundTrip(seconds: number): void {
    this.storeRoundTrips.observe(seconds);
  }

  storeError(): void {
    this.storeErrors++;
  }

  snapshot(): StatsSnapshot {
    const requests = {} as StatsSnapshot['requests'];
    for (const t of TRANSPORTS) {
      requests[t] = {} as Record<RequestKind, RequestCounts>;
      for (const k of REQUEST_KINDS) requests[t][k] = { ok: this.requests[slot(t, k) * 2]!, failed: this.requests[slot(t, k) * 2 + 1]! };
    }
    const failures = {} as Record<FailureReason, number>;
    FAILURE_REASONS.forEach((r, i) => (failures[r] = this.failures[i]!));
    const hist = (h: LatencyHistogram) => ({ buckets: [...h.counts], sum: h.sum, count: h.count });
    return {
      requests,
      failures,
      latency: { http: hist(this.latency.http), udp: hist(this.latency.udp) },
      store: { roundTrips: hist(this.storeRoundTrips), errors: this.storeErrors },
    };
  }
}

function slot(transport: Transport, kind: RequestKind): number {
  return (transport === 'http' ? 0 : 1) * REQUEST_KINDS.length + (kind === 'announce' ? 0 : kind === 'scrape' ? 1 : 2);
}
