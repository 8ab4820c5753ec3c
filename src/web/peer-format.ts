/**
 * Pure: the peer dashboard's numbers as people read them, one module for the server-rendered
 * page (src/peer/dashboard/page.ts) and the live one (src/web/peer.ts), so both show the same text.
 * No DOM: the server build compiles it too.
 */
import { formatBytes, formatDuration } from './shared/format.ts';

export { formatBytes } from './shared/format.ts';

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(Math.max(0, bytesPerSecond)))}/s`;
}

/** A short rate for a chart's axis: `0`, `512B/s`, `977K/s`, `1.9M/s`. */
export function formatSpeedShort(bytesPerSecond: number): string {
  const units = ['B', 'K', 'M', 'G'];
  let v = Math.max(0, bytesPerSecond);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (v === 0) return '0';
  return `${v < 10 && u > 0 ? v.toFixed(1) : Math.round(v)}${units[u]}/s`;
}

/** Seconds left, "done" when complete, "–" when not moving. */
export function formatEta(eta: number | null, complete: boolean): string {
  if (complete) return 'done';
  return eta === null ? '–' : formatDuration(eta);
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? '–' : ratio.toFixed(2);
}

/** Rounded down, so that 100.0 % means complete. */
export function formatPercent(fraction: number): string {
  return `${(Math.floor(fraction * 1000) / 10).toFixed(1)} %`;
}

/** How each transport is named on the page. */
export const TRANSPORT_NAMES: Readonly<Record<string, string>> = {
  http: 'HTTP API',
  tcp: 'BitTorrent TCP',
  utp: 'BitTorrent uTP',
  mse: 'BitTorrent encrypted',
  webseed: 'web seed',
};

/** The numbers of a torrent's cards, by slot name (the page's `data-slot`s). */
export interface SummaryNumbers {
  size: number;
  progress: number;
  complete: boolean;
  rate: { down: number; up: number };
  eta: number | null;
  ratio: number | null;
  peers: number;
  piecesVerified: number;
  pieceCount: number;
  downloaded: number;
  uploaded: number;
  piecesFailed: number;
}

export function summarySlots(t: SummaryNumbers): Record<string, string> {
  return {
    size: formatBytes(t.size),
    progress: formatPercent(t.progress),
    down: formatSpeed(t.rate.down),
    up: formatSpeed(t.rate.up),
    eta: formatEta(t.eta, t.complete),
    ratio: formatRatio(t.ratio),
    peers: String(t.peers),
    pieces: `${t.piecesVerified} / ${t.pieceCount}`,
    downloaded: formatBytes(t.downloaded),
    uploaded: formatBytes(t.uploaded),
    failed: String(t.piecesFailed),
  };
}

/** The cards, in page order: slot name and label. */
export const SUMMARY_CARDS: ReadonlyArray<readonly [string, string]> = [
  ['progress', 'Progress'],
  ['size', 'Size'],
  ['down', 'Download'],
  ['up', 'Upload'],
  ['eta', 'ETA'],
  ['ratio', 'Ratio'],
  ['peers', 'Peers'],
  ['pieces', 'Pieces'],
  ['downloaded', 'Received'],
  ['uploaded', 'Sent'],
  ['failed', 'Hash failures'],
];

/** A peer row's cells, in the table's column order (see PEER_COLUMNS). */
export interface PeerNumbers {
  transport: string;
  /** Other transports to the same peer. */
  also: readonly string[];
  address: string;
  client: string;
  downRate: number;
  upRate: number;
  downloaded: number;
  uploaded: number;
  piecesGiven: number;
  has: number | null;
}

export const PEER_COLUMNS = ['Transport', 'Address', 'Client', 'Down', 'Up', 'Received', 'Sent', 'Pieces given', 'Pieces held'] as const;

export function peerCells(p: PeerNumbers): string[] {
  return [
    [p.transport, ...p.also].map((t) => TRANSPORT_NAMES[t] ?? t).join(' + '),
    p.address,
    p.client,
    formatSpeed(p.downRate),
    formatSpeed(p.upRate),
    formatBytes(p.downloaded),
    formatBytes(p.uploaded),
    String(p.piecesGiven),
    p.has === null ? '–' : String(p.has),
  ];
}

export const FILE_COLUMNS = ['Path', 'Size', 'Progress'] as const;

export function fileCells(f: { path: string; size: number; progress: number }): string[] {
  return [f.path, formatBytes(f.size), formatPercent(f.progress)];
}

/** The piece map's words (under the canvas and as its aria-label). */
export function pieceText(d: { piecesVerified: number; pieceCount: number; pieces: { inFlight: readonly number[] } }): string {
  return `${d.piecesVerified} of ${d.pieceCount} pieces verified, ${d.pieces.inFlight.length} in flight`;
}
