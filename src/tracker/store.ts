/**
 * Swarm store: info_hash -> peers. The interface is async so that a shared store (Redis) can
 * replace the in-memory one. A peer is keyed by (info_hash, ip, port), never by peer_id alone:
 * an announce from another address can neither evict nor change it.
 */
import { compactAddressInto, formatIPv4, formatIPv6, type AnnounceRequest, type PeerInfo, type PeerSample, type ScrapeEntry } from './protocol.ts';
import { PeerTable } from './peer-table.ts';
import { InfoHashTable } from './info-hash-table.ts';

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
}

export interface StoreLimits {
  maxTorrents: number;
  maxPeersPerTorrent: number;
}

export const DEFAULT_STORE_LIMITS: StoreLimits = { maxTorrents: 1_000_000, maxPeersPerTorrent: 20_000 };

/** A limit of the store was reached: the announcer gets a `failure reason`, others are unaffected. */
export class StoreFullError extends Error {}

export interface SwarmStore {
  announce(req: AnnounceRequest, now: number): Promise<AnnounceOutcome>;
  scrape(infoHashes: Buffer[], now: number): Promise<ScrapeEntry[]>;
  /** Every live peer of a swarm (for the JSON peer list). */
  list(infoHash: Buffer, now: number): Promise<PeerRecord[]>;
  /** Drop peers not heard from within the time-to-live, and swarms left empty. */
  expire(now: number): Promise<void>;
  counts(): Promise<{ swarms: number; peers: number }>;
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

/**
 * The announcer's compact address, for the swarm's index: one scratch Buffer per family, reused
 * because an announce is handled to the end before the next (the tables copy what they keep).
 */
const KEY4 = Buffer.alloc(6);
const KEY6 = Buffer.alloc(18);

export class MemorySwarmStore implements ImmediateSwarmStore {
  private readonly swarms = new InfoHashTable<Swarm>();

  /** @param ttlMs a peer silent for longer than this is gone (2 x the announce interval). */
  constructor(
    private readonly ttlMs: number,
    private readonly limits: StoreLimits = DEFAULT_STORE_LIMITS,
  ) {}

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
        if (at >= 0) swarm.remove(at);
        if (swarm.count === 0) this.swarms.delete(req.infoHash);
      }
      return { complete: swarm?.seeders ?? 0, incomplete: swarm ? swarm.count - swarm.seeders : 0, peers: NO_PEERS };
    }
    if (!swarm) {
      if (this.swarms.size >= this.limits.maxTorrents) throw new StoreFullError('tracker is full (too many torrents)');
      swarm = new Swarm();
      this.swarms.add(req.infoHash, swarm);
    }
    let at = swarm.find(key);
    if (at < 0 && swarm.count >= this.limits.maxPeersPerTorrent) {
      if (swarm.count === 0) this.swarms.delete(req.infoHash);
      throw new StoreFullError('torrent is full (too many peers)');
    }
    const seeder = req.left === 0;
    if (req.event === 'completed' && !(at >= 0 && swarm.isSeeder(at))) swarm.completed++;
    // Same address and port (the key): the record is updated in place.
    if (at < 0) at = swarm.add(key);
    swarm.update(at, req.peerId, seeder, now);
    const withIds = !req.compact && !req.noPeerId;
    return {
      complete: swarm.seeders,
      incomplete: swarm.count - swarm.seeders,
      peers: swarm.sample(at, req.numwant, now - this.ttlMs, withIds),
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

  async list(infoHash: Buffer, now: number): Promise<PeerRecord[]> {
    const s = this.swarms.get(infoHash);
    const out: PeerRecord[] = [];
    if (!s) return out;
    for (let i = 0; i < s.count; i++) {
      const lastSeen = s.lastSeen(i);
      if (now - lastSeen > this.ttlMs) continue;
      const family = s.family(i);
      const addr = s.address(i);
      out.push({
        peerId: s.peerId(i),
        ip: family === 4 ? formatIPv4(addr) : formatIPv6(addr),
        family,
        port: addr.readUInt16BE(addr.length - 2),
        seeder: s.isSeeder(i),
        lastSeen,
      });
    }
    return out;
  }

  async expire(now: number): Promise<void> {
    this.swarms.sweep((s) => {
      s.dropOlderThan(now - this.ttlMs);
      // Swarms left empty are deleted: trackers that forgot this leaked memory until they died.
      return s.count === 0;
    });
  }

  async counts(): Promise<{ swarms: number; peers: number }> {
    let peers = 0;
    for (const s of this.swarms.valuesView()) peers += s.count;
    return { swarms: this.swarms.size, peers };
  }
}
