/**
 * What a benchmark scenario is: a module exporting `{ name, run() }`. A scenario runs ours and
 * its anchor(s) alternately (A B A B ...) in the same process tree and returns the raw per-round
 * numbers; `bench/run.ts` computes the medians, the ratio ours / anchor and the verdict.
 *
 * A scenario may compare ours with several anchors, or report several measures (requests/s and
 * p99 latency, keep-alive and Connection: close): it then returns one `ScenarioResult` per row
 * of the table, each with a `label`. A row whose anchor (or load generator) is not installed is
 * returned with `skipped` = why, and the command that installs it: never silently left out.
 */

export interface ScenarioOptions {
  /** Rounds of (anchor, ours), alternated. */
  rounds: number;
  /** Progress lines for people (stderr), not part of the results. */
  log(line: string): void;
  /**
   * Where to write CPU profiles of ours under load (`<dir>/<scenario>-<what>.cpuprofile`), after
   * the timed rounds and never during them; undefined when profiling is off (`--no-profile`).
   */
  profileDir?: string;
}

export interface RoundResult {
  ours: number;
  anchor: number;
  /** Anything else measured in this round (timings, counters), kept in results.json. */
  detail?: Record<string, unknown>;
}

export interface ScenarioResult {
  /** Row label when a scenario reports several rows (e.g. `keep-alive req/s vs opentracker`). */
  label?: string;
  /** What "ours" is in this scenario. */
  ours: string;
  /** The named anchor it is compared with. */
  anchor: string;
  unit: string;
  /**
   * The claim: ratio = median(ours) / median(anchor) compared with `value`. A row without a
   * target is informational (e.g. p99 latency next to the requests/s that carries the claim).
   */
  target?: { op: '>=' | '<='; value: number };
  rounds: RoundResult[];
  /** Set when this row could not be measured: why, and the command that installs what is missing. */
  skipped?: string;
  /** Extra lines to print under the table (e.g. load spread), also kept in results.json. */
  notes?: string[];
  detail?: Record<string, unknown>;
  /** CPU profiles written by this scenario, summarised by run.ts (see profile-summary.ts). */
  profiles?: ProfileRef[];
}

export interface ProfileRef {
  /** What was profiled, e.g. `tracker under wrk (keep-alive)`. */
  title: string;
  /** Path of the .cpuprofile. */
  file: string;
  /** Only samples in [fromUs, toUs] (V8 / CLOCK_MONOTONIC microseconds) count, when given. */
  window?: { fromUs: number; toUs: number };
}

export interface Scenario {
  name: string;
  description: string;
  run(opts: ScenarioOptions): Promise<ScenarioResult | ScenarioResult[]>;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
