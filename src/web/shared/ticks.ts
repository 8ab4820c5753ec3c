/**
 * Pure: "nice" axis ticks (1, 2, 5 x 10^n steps) for the charts, so labels read 0, 20, 40 rather
 * than 0, 17.3, 34.6. No DOM: Node tests run it too.
 */

export interface Axis {
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

/** A step of 1, 2 or 5 x 10^n near `span / wanted`. */
export function niceStep(span: number, wanted: number): number {
  const raw = span / Math.max(1, wanted);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const f = raw / magnitude;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
}

/**
 * An axis from 0 (or `lo` when negative) to at least `hi`, with about `wanted` ticks. An empty or
 * flat range still gets an axis of 0..1, so a chart of zeros has a scale.
 */
export function niceAxis(lo: number, hi: number, wanted = 4): Axis {
  const min = Math.min(0, Number.isFinite(lo) ? lo : 0);
  let max = Number.isFinite(hi) ? hi : 0;
  if (max <= min) max = min + 1;
  const step = niceStep(max - min, wanted);
  const top = Math.ceil(max / step - 1e-9) * step;
  const bottom = Math.floor(min / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = bottom, i = 0; v <= top + step / 2 && i < 50; v += step, i++) ticks.push(Number(v.toPrecision(12)));
  return { min: bottom, max: top, step, ticks };
}
