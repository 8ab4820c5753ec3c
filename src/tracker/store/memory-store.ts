/**
 * Swarm store: info_hash -> peers. The interface is async so that a shared store (Redis) can
 * replace the in-memory one. A peer is keyed by (info_hash, ip, port), never by peer_id alone:
 * an announce from another address can neither evict nor change it.
 */
import { compactAddressInto, formatIPv4, formatIPv6, type AnnounceRequest, type PeerInfo, type PeerSample, type ScrapeEntry } from '../protocol/announce.ts';
import { PeerTable } from './peer-table.ts';
import { InfoHashTable, SHARDS } from './info-hash-table.ts';
import { CreationBudget, isExempt } from './limits.ts';
import { parseCidr, type Cidr } from '../client-address.ts';

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
export class StoreFullError extends Error {}

export interface SwarmStore {
  announce(req: AnnounceRequest, now: number): Promise<AnnounceOutcome>;
  scrape(infoHashes: Buffer[], now: number): Promise<ScrapeEntry[]>;
  /** Live peers `from` .. `from + max - 1` of a swarm, and how many it has (the JSON peer list). */
  list(infoHash: Buffer, now: number, from?: number, max?: number): Promise<PeerPage>;
  /**
   * One slice of the expiry pass: drop peers not heard from within the time-to-live, and swarms
   * left empty, for about `budgetMs` of work. Resolves true when the pass that this slice
   * continued has covered every swarm (the next call starts a new pass).
   */
  expireSome(now: number, budgetMs: number): Promise<boolean>;
  /** A whole expiry pass at once. */
  expire(now: number): Promise<void>;
  counts(): Promise<{ swarms: number; peers: number }>;
}

export interface PeerPage {
  /** Live peers of the swarm. */
  total: number;
  peers: PeerRecord[];
}

/** A store that can answer an announce at once (no I/O): the tracker's hot path uses it. */
export interface ImmediateSwarmStore extends SwarmStore {
  announceNow(req: AnnounceRequest, now: number): AnnounceOutcome;
}

export function isImmediate(store: SwarmStore): store is ImmediateSwarmStore {
  return typeof (store as Partial<ImmediateSwarmStore>).announceNow === 'function';
}

/** A torrent's peers, and its count of finished downloads: one object per swarm on the hot path. */
class Swarm extends PeerTable {
  /** Completed downloads reported with event=completed (BEP 48 `downloaded`). */
  completed = 0;
}

const NO_PEERS: PeerSample = { v4: Buffer.alloc(0), v6: Buffer.alloc(0) };
const UNLISTED = 'not listed: too many peers from your address in this torrent';

/**
 * The announcer's compact address, for the swarm's index: one scratch Buffer per family, reused
 * because an announce is handled to the end before the next (the tables copy what they keep).
 */
const KEY4 = Buffer.alloc(6);
const KEY6 = Buffer.alloc(18);

export class MemorySwarmStore implements ImmediateSwarmStore {
  private readonly swarms = new InfoHashTable<Swarm>();
  private readonly limits: StoreLimits;
  private readonly budget: CreationBudget;
  /** Peers in all swarms (kept, not counted: the global cap is checked per new peer). */
  private peers = 0;
  /** Where the expiry pass goes on: the shard of the torrents' table, and the entry in it. */
  private expiryShard = -1;
  private expiryEntry = -1;

  /** @param ttlMs a peer silent for longer than this is gone (2 x the announce interval). */
  constructor(
    private readonly ttlMs: number,
    limits: Partial<StoreLimits> = {},
  ) {
    this.limits = { ...DEFAULT_STORE_LIMITS, ...limits };
    this.budget = new CreationBudget(this.limits.newTorrentsPerMinute, this.limits.newTorrentsBurst);
  }

  async announce(req: AnnounceRequest, now: number): Promise<AnnounceOutcome> {
    return this.announceNow(req, now);
  }

  announceNow(req: AnnounceRequest, now: number): AnnounceOutcome {
    let swarm = this.swarms.get(req.infoHash);
    const key = req.family === 4 ? KEY4 : KEY6;
    compactAddressInto(key, 0, req.ip, req.family, req.port);
    if (req.event === 'stopped') {
      if (swarm) {
        const at = swarm.find(key);
        if (at >= 0) {
          swarm.remove(at);
          this.peers--;
        }
        if (swarm.count === 0) this.swarms.delete(req.infoHash);
      }
      return { complete: swarm?.seeders ?? 0, incomplete: swarm ? swarm.count - swarm.seeders : 0, peers: NO_PEERS };
    }
    const created = swarm === undefined;
    if (!swarm) {
      this.admitSwarm(key, now);
      swarm = new Swarm();
    }
    let at = created ? -1 : swarm.find(key);
    // A known peer (same address and port) is updated in place at no further cost; limits are
    // checked only when a peer would be added. A new swarm is kept only once it has its peer.
    if (at < 0 && !this.admitPeer(swarm, key)) return this.unlisted(swarm, req, now);
    if (created) this.swarms.add(req.infoHash, swarm);
    const seeder = req.left === 0;
    if (req.event === 'completed' && !(at >= 0 && swarm.isSeeder(at))) swarm.completed++;
    if (at < 0) {
      at = swarm.add(key);
      this.peers++;
    }
    swarm.update(at, req.peerId, seeder, now);
    const withIds = !req.compact && !req.noPeerId;
    return {
      complete: swarm.seeders,
      incomplete: swarm.count - swarm.seeders,
      peers: swarm.sample(at, req.numwant, now - this.ttlMs, withIds),
    };
  }

  /** A new swarm for compact address `key`, or StoreFullError. */
  private admitSwarm(key: Buffer, now: number): void {
    if (this.swarms.size >= this.limits.maxTorrents) throw new StoreFullError('tracker is full (too many torrents)');
    if (this.peers >= this.limits.maxPeers) throw new StoreFullError('tracker is full (too many peers)');
    if (!isExempt(this.limits.exempt, key) && !this.budget.take(key, now)) throw new StoreFullError('too many new torrents from your address; try again later');
  }

  /**
   * Whether `key` may be added to `swarm`: false when its address has enough peers there. A full
   * torrent or tracker refuses it instead (StoreFullError).
   */
  private admitPeer(swarm: Swarm, key: Buffer): boolean {
    if (swarm.count >= this.limits.maxPeersPerTorrent) throw new StoreFullError('torrent is full (too many peers)');
    if (this.peers >= this.limits.maxPeers) throw new StoreFullError('tracker is full (too many peers)');
    return isExempt(this.limits.exempt, key) || swarm.sameAddress(key) < this.limits.maxPeersPerAddress;
  }

  /** Peers for an announcer that is not added to the swarm, with a warning saying so. */
  private unlisted(swarm: Swarm, req: AnnounceRequest, now: number): AnnounceOutcome {
    const withIds = !req.compact && !req.noPeerId;
    return {
      complete: swarm.seeders,
      incomplete: swarm.count - swarm.seeders,
      peers: swarm.sample(-1, req.numwant, now - this.ttlMs, withIds),
      warning: UNLISTED,
    };
  }

  async scrape(infoHashes: Buffer[], _now: number): Promise<ScrapeEntry[]> {
    const unique = new Map(infoHashes.map((h) => [h.toString('latin1'), h]));
    return [...unique.values()].map((h) => {
      const s = this.swarms.get(h);
      const complete = s?.seeders ?? 0;
      return { infoHash: h, complete, incomplete: s ? s.count - complete : 0, downloaded: s?.completed ?? 0 };
    });
  }

  async list(infoHash: Buffer, now: number, from = 0, max = Infinity): Promise<PeerPage> {
    const s = this.swarms.get(infoHash);
    const page: PeerPage = { total: 0, peers: [] };
    if (!s) return page;
    for (let i = 0; i < s.count; i++) {
      const lastSeen = s.lastSeen(i);
      if (now - lastSeen > this.ttlMs) continue;
      const n = page.total++;
      if (n < from || n >= from + max) continue;
      const family = s.family(i);
      const addr = s.address(i);
      page.peers.push({
        peerId: s.peerId(i),
        ip: family === 4 ? formatIPv4(addr) : formatIPv6(addr),
        family,
        port: addr.readUInt16BE(addr.length - 2),
        seeder: s.isSeeder(i),
        lastSeen,
      });
    }
    return page;
  }

  async expireSome(now: number, budgetMs: number): Promise<boolean> {
    return this.expireSlice(now, budgetMs);
  }

  /**
   * expireSome without a promise. The pass walks each shard of the torrents' table from its last
   * entry down, so a swarm it deletes is replaced by one it has already seen (swap-remove), and
   * swarms added meanwhile (appended) wait for the next pass: nothing is skipped, whatever
   * happens between slices.
   */
  expireSlice(now: number, budgetMs: number): boolean {
    const cutoff = now - this.ttlMs;
    const stopAt = performance.now() + budgetMs;
    if (this.expiryShard < 0) {
      this.expiryShard = SHARDS - 1;
      this.expiryEntry = Infinity;
    }
    let work = 0;
    for (; this.expiryShard >= 0; this.expiryShard--, this.expiryEntry = Infinity) {
      const swarms = this.swarms.shards[this.expiryShard]!.valuesView();
      let i = Math.min(this.expiryEntry, swarms.length - 1);
      while (i >= 0) {
        const s = swarms[i]!;
        work += 1 + s.count;
        this.peers -= s.dropOlderThan(cutoff);
        // Swarms left empty are deleted: trackers that forgot this leaked memory until they died.
        if (s.count === 0) this.swarms.deleteAt(this.expiryShard, i);
        i--;
        // The clock is read after a hundred records' worth of work, not per swarm.
        if (work >= 128) {
          work = 0;
          if (performance.now() >= stopAt) {
            this.expiryEntry = i;
            if (i >= 0) return false;
          }
        }
      }
    }
    return true;
  }

  async expire(now: number): Promise<void> {
    this.expiryShard = -1;
    while (!this.expireSlice(now, Infinity));
  }

  async counts(): Promise<{ swarms: number; peers: number }> {
    return { swarms: this.swarms.size, peers: this.peers };
  }
}
