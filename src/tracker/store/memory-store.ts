/**
 * The in-memory swarm store: packed tables (info-hash-table.ts, peer-table.ts), the limits of
 * StoreLimits, expiry in slices. Answers at once (no I/O), so its methods return plain values.
 */
import { compactAddressInto, formatIPv4, formatIPv6 } from '../../bittorrent/address.ts';
import type { AnnounceRequest } from '../protocol/announce.ts';
import type { PeerSample } from '../protocol/answer.ts';
import type { ScrapeEntry } from '../protocol/scrape.ts';
import { PeerTable } from './peer-table.ts';
import { InfoHashTable, SHARDS } from './info-hash-table.ts';
import { CreationBudget, isExempt } from './limits.ts';
import { boundedQuery, bytePrefix, hasPrefix, SwarmSelection, type SwarmPage, type SwarmQuery } from './swarm-listing.ts';
import { DEFAULT_STORE_LIMITS, StoreFullError, type AnnounceOutcome, type PeerPage, type StoreCounts, type StoreLimits, type SwarmStore } from './swarm-store.ts';

/** A torrent's peers, and its count of finished downloads: one object per swarm on the hot path. */
class Swarm extends PeerTable {
  /** Completed downloads reported with event=completed (BEP 48 `downloaded`). */
  completed = 0;
  /** ms since the epoch of the latest announce (the dashboard's table). */
  lastAnnounce = 0;
}

const NO_PEERS: PeerSample = { v4: Buffer.alloc(0), v6: Buffer.alloc(0) };
const UNLISTED = 'not listed: too many peers from your address in this torrent';
/** Longest run of the swarm listing's walk before it lets announces through. */
const LISTING_SLICE_MS = 2;

export class MemorySwarmStore implements SwarmStore {
  private readonly swarms = new InfoHashTable<Swarm>();
  private readonly limits: StoreLimits;
  private readonly budget: CreationBudget;
  /** Peers in all swarms (kept, not counted: the global cap is checked per new peer). */
  private peers = 0;
  /** Downloads reported completed since the store started. */
  private completedTotal = 0;
  /** Where the expiry pass goes on: the shard of the torrents' table, and the entry in it. */
  private expiryShard = -1;
  private expiryEntry = -1;
  /**
   * The announcer's compact address, for the swarm's index: a scratch Buffer per family, reused
   * because an announce is handled to the end before the next (the tables copy what they keep).
   */
  private readonly key4 = Buffer.alloc(6);
  private readonly key6 = Buffer.alloc(18);

  /** @param ttlMs a peer silent for longer than this is gone (2 x the announce interval). */
  constructor(
    private readonly ttlMs: number,
    limits: Partial<StoreLimits> = {},
  ) {
    this.limits = { ...DEFAULT_STORE_LIMITS, ...limits };
    this.budget = new CreationBudget(this.limits.newTorrentsPerMinute, this.limits.newTorrentsBurst);
  }

  /** Answered at once (no I/O): the caller gets the outcome, not a promise. */
  announce(req: AnnounceRequest, now: number): AnnounceOutcome {
    let swarm = this.swarms.get(req.infoHash);
    const key = req.family === 4 ? this.key4 : this.key6;
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
    if (req.event === 'completed' && !(at >= 0 && swarm.isSeeder(at))) {
      swarm.completed++;
      this.completedTotal++;
    }
    swarm.lastAnnounce = now;
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

  /**
   * Answered at once. The pass walks each shard of the torrents' table from its last
   * entry down, so a swarm it deletes is replaced by one it has already seen (swap-remove), and
   * swarms added meanwhile (appended) wait for the next pass: nothing is skipped, whatever
   * happens between slices.
   */
  expireSome(now: number, budgetMs: number): boolean {
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
    while (!this.expireSome(now, Infinity));
  }

  /** Seeders are summed over the swarms here (a metrics scrape), not kept on the announce path. */
  async counts(): Promise<StoreCounts> {
    let seeders = 0;
    for (const shard of this.swarms.shards) for (const s of shard.valuesView()) seeders += s.seeders;
    return { swarms: this.swarms.size, peers: this.peers, seeders };
  }

  async completedDownloads(): Promise<number> {
    return this.completedTotal;
  }

  /**
   * One walk over every swarm, in slices of at most LISTING_SLICE_MS between which announces are
   * answered; each shard is read whole within a slice (it cannot change under the walk).
   */
  async listSwarms(query: SwarmQuery, _now: number): Promise<SwarmPage> {
    const q = boundedQuery(query);
    const selection = new SwarmSelection(q);
    const prefix = bytePrefix(q.prefix);
    let sliceStart = performance.now();
    for (const shard of this.swarms.shards) {
      const keys = shard.keysView();
      const swarms = shard.valuesView();
      for (let i = 0; i < swarms.length; i++) {
        if (!hasPrefix(keys, i * 20, prefix)) continue;
        const s = swarms[i]!;
        selection.offer(keys, i * 20, s.seeders, s.count - s.seeders, s.completed, s.lastAnnounce);
      }
      if (performance.now() - sliceStart > LISTING_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    return { total: selection.total, swarms: selection.page() };
  }
}
