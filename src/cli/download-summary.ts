/**
 * The closing line of a download, as aria2c prints one: how much, how long, how fast on average,
 * from how many sources. Pure: the session gives the numbers.
 */
import { formatBytes } from './progress.ts';

export interface DownloadTotals {
  /** Bytes fetched and verified in this run (a resumed download fetched less than its size). */
  fetched: number;
  /** The torrent's size. */
  size: number;
  ms: number;
  /** Verified bytes per source label (web seeds' labels start with `web seed`). */
  sources: Map<string, { pieces: number; bytes: number }>;
}

/** `1m05s`, `2.3 s`, `1h02m`: short, and exact enough for a summary. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const whole = Math.round(s);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, '0');
  return h ? `${h}h${pad(m)}m` : `${m}m${pad(whole % 60)}s`;
}

/** `Downloaded 4.0 MiB in 2.3 s (1.7 MiB/s on average) from 2 sources (1 peer, 1 web seed)`. */
export function downloadSummary(t: DownloadTotals): string {
  const used = [...t.sources].filter(([, c]) => c.pieces > 0);
  const webSeeds = used.filter(([label]) => label.startsWith('web seed')).length;
  const peers = used.length - webSeeds;
  const kinds = [peers ? `${peers} ${peers === 1 ? 'peer' : 'peers'}` : '', webSeeds ? `${webSeeds} ${webSeeds === 1 ? 'web seed' : 'web seeds'}` : ''].filter(Boolean).join(', ');
  const rate = t.ms > 0 ? (t.fetched * 1000) / t.ms : 0;
  const resumed = t.fetched < t.size ? ` (of ${formatBytes(t.size)}; the rest was already here)` : '';
  const from = used.length ? ` from ${used.length} ${used.length === 1 ? 'source' : 'sources'} (${kinds})` : '';
  return `Downloaded ${formatBytes(t.fetched)}${resumed} in ${formatDuration(t.ms)} (${formatBytes(rate)}/s on average)${from}`;
}
