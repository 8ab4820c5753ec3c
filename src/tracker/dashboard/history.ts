/**
 * Announce and scrape rates over the last minutes: cumulative counters sampled (while someone
 * watches: the dashboard's tick) into a ring of rate points. Pure data structure.
 */

export interface RatePoint {
  /** ms since the epoch. */
  t: number;
  announces: number;
  scrapes: number;
}

/** Points kept: ten minutes at one a second. */
export const HISTORY_POINTS = 600;
/** Two samples further apart than this give no rate (nobody watched meanwhile). */
export const MAX_SAMPLE_GAP_MS = 5000;

export class RateHistory {
  private readonly points: RatePoint[] = [];
  private last: { t: number; announces: number; scrapes: number } | undefined;

  constructor(private readonly capacity = HISTORY_POINTS) {}

  /** Record the counters' totals at time `t`; returns the new rate point, if any. */
  sample(t: number, announces: number, scrapes: number): RatePoint | undefined {
    const prev = this.last;
    this.last = { t, announces, scrapes };
    if (prev === undefined || t <= prev.t || t - prev.t > MAX_SAMPLE_GAP_MS) return undefined;
    // A counter that went down (a worker restarted before its report) gives no negative rate.
    if (announces < prev.announces || scrapes < prev.scrapes) return undefined;
    const seconds = (t - prev.t) / 1000;
    const point = { t, announces: (announces - prev.announces) / seconds, scrapes: (scrapes - prev.scrapes) / seconds };
    this.points.push(point);
    if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
    return point;
  }

  /** The rate points, oldest first (a copy). */
  all(): RatePoint[] {
    return [...this.points];
  }

  latest(): RatePoint | undefined {
    return this.points[this.points.length - 1];
  }
}
