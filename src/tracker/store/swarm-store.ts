/**
 * The swarm store's interface: info_hash -> peers, behind which the memory store (and later a
 * shared one, such as Redis) sits. Every store passes test/tracker/store.conformance.ts. A peer is
 * keyed by (info_hash, ip, port), never by peer_id alone: an announce from another address can
 * neither evict nor change it.
 */
import type { AnnounceRequest } from '../protocol/announce.ts';
import type { PeerSample } from '../protocol/answer.ts';
import type { ScrapeEntry } from '../protocol/scrape.ts';
import { TrackerRequestError } from '../protocol/query.ts';
import { parseCidr, type Cidr } from '../client-address.ts';
import type { SwarmPage, SwarmQuery } from './swarm-listing.ts';

export interface PeerInfo {
  peerId: Buffer;
  ip: string;
  family: 4 | 6;
  port: number;
}

export interface PeerRecord extends PeerInfo {
  seeder: boolean;
  /** ms since the epoch of the last announce. */
  lastSeen: number;
}

export interface AnnounceOutcome {
  complete: number;
  incomplete: number;
  /** Up to `numwant` other live peers, never the announcing one, in wire form. */
  peers: PeerSample;
  /** Set when the announcer was answered but not listed (BEP 3 `warning message`). */
  warning?: string;
}

export interface StoreLimits {
  maxTorrents: number;
  maxPeersPerTorrent: number;
  /** Peers across all torrents. */
  maxPeers: number;
  /**
   * Peers of one address (IPv4 /32, IPv6 /64) listed in one torrent, whatever their ports. An
   * announce beyond it still gets its peers, with a warning, but is not listed (a NAT'd office
   * keeps downloading; one address cannot fill a swarm).
   */
  maxPeersPerAddress: number;
  /** New torrents one address may create: per minute, sustained, and at once (a token bucket). */
  newTorrentsPerMinute: number;
  newTorrentsBurst: number;
  /** Addresses the per-address limits do not apply to (the global ones still do). */
  exempt: readonly Cidr[];
}

/**
 * Loopback is exempt by default: it is this machine, where the demo, the tests and the benchmarks
 * run whole swarms from 127.0.0.1. (Behind a reverse proxy, --trust-proxy makes the limits see
 * the clients' addresses instead of the proxy's.)
 */
export const LOOPBACK: readonly Cidr[] = [parseCidr('127.0.0.0/8'), parseCidr('::1')];

export const DEFAULT_STORE_LIMITS: StoreLimits = {
  maxTorrents: 1_000_000,
  maxPeersPerTorrent: 20_000,
  maxPeers: 2_000_000,
  maxPeersPerAddress: 8,
  newTorrentsPerMinute: 120,
  newTorrentsBurst: 1000,
  exempt: LOOPBACK,
};

/** Milliseconds of work in one expiry slice: the longest an announce waits behind expiry. */
export const EXPIRY_SLICE_MS = 1;

/** A limit of the store was reached: the announcer gets a `failure reason`, others are unaffected. */
export class StoreFullError extends TrackerRequestError {
  override readonly reason = 'store_full';
}

/** A shared store (Redis) cannot be reached: the request is refused at once, never queued. */
export class StoreUnavailableError extends TrackerRequestError {
  override readonly reason = 'store_unavailable';
}

/**
 * What the tracker service needs of a store. A store that answers without I/O (the memory one)
 * returns plain values where a promise is allowed: the hot path then takes no turn of the
 * microtask queue, and no caller has to know which kind it has.
 */
export interface SwarmStore {
  /** Add, update or (event=stopped) remove the announcer; throws StoreFullError at a limit. */
  announce(req: AnnounceRequest, now: number): AnnounceOutcome | Promise<AnnounceOutcome>;
  scrape(infoHashes: Buffer[], now: number): Promise<ScrapeEntry[]>;
  /** Live peers `from` .. `from + max - 1` of a swarm, and how many it has (the JSON peer list). */
  list(infoHash: Buffer, now: number, from?: number, max?: number): Promise<PeerPage>;
  /**
   * One slice of the expiry pass: drop peers not heard from within the time-to-live, and swarms
   * left empty, for about `budgetMs` of work. Resolves true when the pass that this slice
   * continued has covered every swarm (the next call starts a new pass).
   */
  expireSome(now: number, budgetMs: number): boolean | Promise<boolean>;
  /** A whole expiry pass at once. */
  expire(now: number): Promise<void>;
  counts(): Promise<StoreCounts>;
  /**
   * One page of swarms (swarm-listing.ts): sorted and filtered by info_hash prefix, at a cost
   * bounded per call whatever the number of swarms (the dashboard's table).
   */
  listSwarms?(query: SwarmQuery, now: number): Promise<SwarmPage>;
  /** Downloads reported completed since the store started (Redis: since its totals were last reset). */
  completedDownloads?(): Promise<number>;
  /** Release connections and timers (a shared store's client); the memory store has none. */
  close?(): Promise<void>;
}

export interface StoreCounts {
  swarms: number;
  /** Live peers, seeders among them. */
  peers: number;
  seeders: number;
}

export interface PeerPage {
  /** Live peers of the swarm. */
  total: number;
  peers: PeerRecord[];
}
