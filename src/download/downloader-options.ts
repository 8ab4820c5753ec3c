/** The downloader's knobs and the events it reports (see downloader.ts). */
import type { PieceSource } from './source.ts';

export interface DownloaderOptions {
  /**
   * Most bytes of pieces held in memory at once (at least one piece is always allowed): that many
   * piece buffers at most are allocated, and reused from piece to piece.
   */
  budgetBytes: number;
  /** A source failing this many requests in a row is dropped (it may be added again later). */
  maxConsecutiveErrors: number;
  /** Give up when no piece has completed for this long. */
  stallTimeoutMs: number;
  /** How long an idle slot waits before asking its source again what it holds. */
  idleRecheckMs: number;
  /** Most sources in use at once. */
  maxSources: number;
  /** Most sources in use at once from one address prefix (IPv4 address, IPv6 /64, host name). */
  maxSourcesPerAddress: number;
  /** Bytes per second below which a fetch is slow (judged once per `rateWindowMs`). */
  minFetchRate: number;
  /** The window a fetch's rate is measured over; also its grace period once it has a buffer. */
  rateWindowMs: number;
}

export const DEFAULT_DOWNLOADER_OPTIONS: DownloaderOptions = {
  budgetBytes: 32 * 1024 * 1024,
  maxConsecutiveErrors: 3,
  stallTimeoutMs: 60_000,
  idleRecheckMs: 1000,
  // A host may run a seeder and several requesters (a household behind NAT, a test swarm on
  // loopback); more than that from one address only helps it crowd others out.
  maxSources: 100,
  maxSourcesPerAddress: 8,
  // One 16 KiB wire block per second: far below any useful peer, far above a trickle that only
  // keeps a request from timing out.
  minFetchRate: 16 * 1024,
  rateWindowMs: 4000,
};

export interface DownloaderEvents {
  onPiece?(index: number, from: PieceSource): void;
  onPieceFailed?(index: number, suppliers: PieceSource[]): void;
  onSourceDropped?(source: PieceSource, reason: string, banned: boolean): void;
  /** No usable source is left (a good moment to ask the tracker for more). */
  onStarved?(): void;
}
