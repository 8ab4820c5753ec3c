/**
 * Pure: numbers as people read them on the dashboards (no DOM, so Node tests run it too).
 */

/** 1234567 -> "1,234,567"; not a finite number -> "–". */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const whole = Math.round(n);
  const digits = String(Math.abs(whole)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return whole < 0 ? `-${digits}` : digits;
}

/** A rate with a sensible number of digits: 0, 0.25, 3.5, 42, 1,234. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–';
  const a = Math.abs(perSecond);
  if (a === 0) return '0';
  if (a < 1) return perSecond.toFixed(2);
  if (a < 10) return perSecond.toFixed(1);
  return formatCount(perSecond);
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${BYTE_UNITS[u]}`;
}

/** Seconds -> "3d 4h", "2h 5m", "4m 10s", "9s" (two units at most). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([v]) => v > 0);
  if (first < 0) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([v], i) => i === 0 || v > 0)
    .map(([v, unit]) => `${v}${unit}`)
    .join(' ');
}

/** How long ago `thenMs` was, seen at `nowMs`: "5s ago", "just now"; 0 or less: "never". */
export function formatAgo(thenMs: number, nowMs: number): string {
  if (!(thenMs > 0)) return 'never';
  const s = (nowMs - thenMs) / 1000;
  return s < 1 ? 'just now' : `${formatDuration(s)} ago`;
}
