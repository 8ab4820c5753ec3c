/**
 * What a benchmark scenario is: a module exporting `{ name, run() }`. A scenario runs ours and
 * its anchor alternately (A B A B ...) in the same process tree and returns the raw per-round
 * numbers; `bench/run.ts` computes the medians, the ratio ours / anchor and the verdict.
 */

export interface ScenarioOptions {
  /** Rounds of (anchor, ours), alternated. */
  rounds: number;
  /** Progress lines for people (stderr), not part of the results. */
  log(line: string): void;
}

export interface RoundResult {
  ours: number;
  anchor: number;
  /** Anything else measured in this round (timings, counters), kept in results.json. */
  detail?: Record<string, unknown>;
}

export interface ScenarioResult {
  /** What "ours" is in this scenario. */
  ours: string;
  /** The named anchor it is compared with. */
  anchor: string;
  unit: string;
  /** The claim: ratio = median(ours) / median(anchor) compared with `value`. */
  target: { op: '>=' | '<='; value: number };
  rounds: RoundResult[];
  /** Extra lines to print under the table (e.g. load spread), also kept in results.json. */
  notes?: string[];
  detail?: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  description: string;
  run(opts: ScenarioOptions): Promise<ScenarioResult>;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
