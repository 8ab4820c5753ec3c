/**
 * Pure: the dashboard's JSON (what /api/... answer and the pages render): the tracker's numbers,
 * a page of swarms, a swarm and its peers. Network strings stay strings (the pages render them as
 * text); peer_ids go out as hex, and as printable text with their client's name.
 */
import { FAILURE_REASONS, type FailureReason, type StatsSnapshot } from '../metrics/stats.ts';
import { requestTotals } from '../metrics/report.ts';
import type { PeerRecord, StoreCounts } from '../store/swarm-store.ts';
import type { SwarmPage, SwarmSummary } from '../store/swarm-listing.ts';
import type { RatePoint } from './history.ts';
import { clientName, printableId } from '../../bittorrent/client-name.ts';

/** info_hash (lowercase hex) -> a name for people (the whitelist's second column). */
export interface TorrentNames {
  nameOf(infoHashHex: string): string | undefined;
}

export interface StatsView {
  now: number;
  uptime_seconds: number;
  /** memory or redis. */
  store: string;
  /** Tracker processes whose numbers these are (--workers). */
  processes: number;
  /** null: the store did not answer in time. */
  swarms: number | null;
  peers: number | null;
  seeders: number | null;
  leechers: number | null;
  completed: number | null;
  announces: number;
  scrapes: number;
  failed: number;
  failures: Record<FailureReason, number>;
  /** The latest rates (null until two samples a second apart were taken). */
  announces_per_second: number | null;
  scrapes_per_second: number | null;
}

export interface StatsInput {
  now: number;
  uptimeSeconds: number;
  store: string;
  processes: number;
  snapshot: StatsSnapshot;
  counts: StoreCounts | null;
  completed: number | null;
  latest: RatePoint | undefined;
}

export function statsView(i: StatsInput): StatsView {
  const c = i.counts;
  const failures = {} as Record<FailureReason, number>;
  for (const r of FAILURE_REASONS) failures[r] = i.snapshot.failures[r];
  return {
    now: i.now,
    uptime_seconds: Math.floor(i.uptimeSeconds),
    store: i.store,
    processes: i.processes,
    swarms: c?.swarms ?? null,
    peers: c?.peers ?? null,
    seeders: c?.seeders ?? null,
    leechers: c === null ? null : c.peers - c.seeders,
    completed: i.completed,
    ...totals(i.snapshot),
    failures,
    announces_per_second: i.latest?.announces ?? null,
    scrapes_per_second: i.latest?.scrapes ?? null,
  };
}

export interface SwarmRow {
  info_hash: string;
  /** null: no name known. */
  name: string | null;
  seeders: number;
  leechers: number;
  completed: number;
  /** ms since the epoch; 0: unknown. */
  last_announce: number;
}

export function swarmRow(s: SwarmSummary, names: TorrentNames | undefined): SwarmRow {
  const hex = s.infoHash.toString('hex');
  return { info_hash: hex, name: names?.nameOf(hex) ?? null, seeders: s.seeders, leechers: s.leechers, completed: s.completed, last_announce: s.lastAnnounce };
}

export interface SwarmsView {
  total: number;
  page: number;
  per_page: number;
  pages: number;
  sort: string;
  order: 'asc' | 'desc';
  q: string;
  /** Set when only this many swarms were looked at (a large shared store). */
  scanned?: number;
  swarms: SwarmRow[];
}

export interface PeerRow {
  ip: string;
  port: number;
  client: string;
  /** The peer_id as printable text (non-printable bytes as "·"), and as hex. */
  peer_id_text: string;
  peer_id: string;
  seeder: boolean;
  last_seen: number;
}

export function peerRow(p: PeerRecord): PeerRow {
  return { ip: p.ip, port: p.port, client: clientName(p.peerId), peer_id_text: printableId(p.peerId), peer_id: p.peerId.toString('hex'), seeder: p.seeder, last_seen: p.lastSeen };
}

export interface SwarmView {
  info_hash: string;
  name: string | null;
  seeders: number;
  leechers: number;
  completed: number;
  /** Live peers in the store (the table is one page of them). */
  total_peers: number;
  page: number;
  per_page: number;
  pages: number;
  peers: PeerRow[];
}

/** Pages of `perPage` for `total` items (at least 1, so page 1 always exists). */
export function pageCount(total: number, perPage: number): number {
  return Math.max(1, Math.ceil(total / perPage));
}

export function swarmsView(page: SwarmPage, names: TorrentNames | undefined, q: { sort: string; order: 'asc' | 'desc'; prefix: string }, pageNo: number, perPage: number, maxPages: number): SwarmsView {
  const view: SwarmsView = {
    total: page.total,
    page: pageNo,
    per_page: perPage,
    pages: Math.min(maxPages, pageCount(page.total, perPage)),
    sort: q.sort,
    order: q.order,
    q: q.prefix,
    swarms: page.swarms.map((s) => swarmRow(s, names)),
  };
  return page.scanned === undefined ? view : { ...view, scanned: page.scanned };
}

/** The dashboard's request counts: /stats' totals (report.ts) without the UDP connects. */
function totals(s: StatsSnapshot): { announces: number; scrapes: number; failed: number } {
  const { announces, scrapes, failed } = requestTotals(s);
  return { announces, scrapes, failed };
}
