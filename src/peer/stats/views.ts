/**
 * Pure: the JSON a dashboard and scripts read of one torrent, from the numbers kept elsewhere.
 * Every list is bounded (files, pieces in flight, peers) whatever the torrent or the swarm, and
 * piece states travel packed: the verified pieces as the BEP 3 bitfield in base64 (12.5 KB for
 * 100,000 pieces), the pieces in flight as a short list of indices.
 */
import type { Metainfo } from '../../metainfo/metainfo.ts';
import type { Bitfield } from '../../bittorrent/bitfield.ts';
import type { RatePoint } from './rate-history.ts';
import type { PeerRow } from './peer-rows.ts';
import { magnetLink } from './torrent-file.ts';

export const MAX_FILES_LISTED = 1000;
export const MAX_IN_FLIGHT_LISTED = 4096;
/** Samples averaged for the current rate and the ETA. */
export const RATE_SAMPLES = 5;

export interface TorrentSummary {
  infoHash: string;
  name: string;
  size: number;
  pieceLength: number;
  pieceCount: number;
  piecesVerified: number;
  /** Verified bytes / size, 0..1. */
  progress: number;
  complete: boolean;
  downloaded: number;
  uploaded: number;
  /** uploaded / downloaded; uploaded / size for a peer that downloaded nothing (a seeder); null when both are 0. */
  ratio: number | null;
  rate: { down: number; up: number };
  /** Seconds to completion at the current rate; null when complete or not moving. */
  eta: number | null;
  peers: number;
  piecesFailed: number;
  magnet: string;
  torrentUrl: string;
}

export interface FileView {
  path: string;
  size: number;
  verified: number;
  progress: number;
}

export interface TorrentDetail extends TorrentSummary {
  pieces: { count: number; verified: string; inFlight: number[] };
  files: FileView[];
  filesTotal: number;
  peerList: PeerRow[];
  history: RatePoint[];
}

/** The numbers a summary is made of (TorrentStats and the download, read once). */
export interface TorrentNumbers {
  downloaded: number;
  uploaded: number;
  rate: { down: number; up: number };
  peers: number;
  piecesFailed: number;
}

/** Verified bytes: every held piece is pieceLength long but the last. */
export function verifiedBytes(meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'length'>, have: Bitfield): number {
  const last = meta.pieceCount - 1;
  const lastShort = meta.pieceLength * meta.pieceCount - meta.length;
  return have.count * meta.pieceLength - (last >= 0 && have.has(last) ? lastShort : 0);
}

export function summarize(meta: Metainfo, have: Bitfield, n: TorrentNumbers): TorrentSummary {
  const done = verifiedBytes(meta, have);
  const left = meta.length - done;
  const base = n.downloaded > 0 ? n.downloaded : meta.length;
  return {
    infoHash: meta.infoHashHex,
    name: meta.name,
    size: meta.length,
    pieceLength: meta.pieceLength,
    pieceCount: meta.pieceCount,
    piecesVerified: have.count,
    progress: meta.length === 0 ? 1 : done / meta.length,
    complete: have.complete,
    downloaded: n.downloaded,
    uploaded: n.uploaded,
    ratio: n.uploaded === 0 && n.downloaded === 0 ? null : n.uploaded / base,
    rate: n.rate,
    eta: left === 0 || n.rate.down < 1 ? null : Math.ceil(left / n.rate.down),
    peers: n.peers,
    piecesFailed: n.piecesFailed,
    magnet: magnetLink(meta),
    torrentUrl: `/torrent/${meta.infoHashHex}.torrent`,
  };
}

/** Each file's verified bytes (the verified pieces' overlap with it); at most MAX_FILES_LISTED files. */
export function fileViews(meta: Pick<Metainfo, 'name' | 'files' | 'multiFile' | 'pieceLength' | 'pieceCount'>, have: Bitfield): FileView[] {
  const out: FileView[] = [];
  for (const f of meta.files) {
    if (f.pad) continue;
    if (out.length >= MAX_FILES_LISTED) break;
    let verified = 0;
    const end = f.offset + f.length;
    const first = Math.floor(f.offset / meta.pieceLength);
    for (let i = first; i < meta.pieceCount && i * meta.pieceLength < end; i++) {
      if (!have.has(i)) continue;
      const start = i * meta.pieceLength;
      verified += Math.max(0, Math.min(end, start + meta.pieceLength) - Math.max(f.offset, start));
    }
    const path = meta.multiFile ? f.path.join('/') : meta.name;
    out.push({ path, size: f.length, verified, progress: f.length === 0 ? 1 : verified / f.length });
  }
  return out;
}

/** The pieces: verified ones as a base64 bitfield, those in flight (not yet verified) as indices. */
export function pieceStates(have: Bitfield, inFlight: Iterable<number>): TorrentDetail['pieces'] {
  const flying: number[] = [];
  for (const i of inFlight) {
    if (flying.length >= MAX_IN_FLIGHT_LISTED) break;
    if (!have.has(i)) flying.push(i);
  }
  return { count: have.size, verified: have.bytes.toString('base64'), inFlight: flying.sort((a, b) => a - b) };
}
