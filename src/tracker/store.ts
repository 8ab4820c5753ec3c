/**
 * Swarm store: info_hash -> peers. The interface is async so that a shared store (Redis) can
 * replace the in-memory one. A peer is keyed by (info_hash, ip, port), never by peer_id alone:
 * an announce from another address can neither evict nor change it.
 */
import { compactAddress, type AnnounceRequest, type PeerInfo, type ScrapeEntry } from './protocol.ts';

export interface PeerRecord extends PeerInfo {
  /** `ip|port`, the peer's identity within its swarm. */
  key: string;
  left: number;
  uploaded: number;
  downloaded: number;
  /** ms since the epoch of the last announce. */
  lastSeen: number;
}

export interface AnnounceOutcome {
  complete: number;
  incomplete: number;
  /** Up to `numwant` other peers, never the announcing one. */
  peers: PeerInfo[];
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

interface Swarm {
  /** Dense array for O(1) random access and swap-removal; `index` maps peer key -> position. */
  peers: PeerRecord[];
  index: Map<string, number>;
  seeders: number;
  /** Completed downloads reported with event=completed (BEP 48 `downloaded`). */
  completed: number;
}

const peerKey = (ip: string, port: number): string => `${ip}|${port}`;

export class MemorySwarmStore implements SwarmStore {
  private readonly swarms = new Map<string, Swarm>();

  /** @param ttlMs a peer silent for longer than this is gone (2 x the announce interval). */
  constructor(
    private readonly ttlMs: number,
    private readonly limits: StoreLimits = DEFAULT_STORE_LIMITS,
  ) {}

  async announce(req: AnnounceRequest, now: number): Promise<AnnounceOutcome> {
    const hashKey = req.infoHash.toString('latin1');
    let swarm = this.swarms.get(hashKey);
    const key = peerKey(req.ip, req.port);
    if (req.event === 'stopped') {
      if (swarm) {
        this.remove(swarm, key);
        if (swarm.peers.length === 0) this.swarms.delete(hashKey);
      }
      return { complete: swarm?.seeders ?? 0, incomplete: swarm ? swarm.peers.length - swarm.seeders : 0, peers: [] };
    }
    if (!swarm) {
      if (this.swarms.size >= this.limits.maxTorrents) throw new StoreFullError('tracker is full (too many torrents)');
      swarm = { peers: [], index: new Map(), seeders: 0, completed: 0 };
      this.swarms.set(hashKey, swarm);
    }
    const at = swarm.index.get(key);
    if (at === undefined && swarm.peers.length >= this.limits.maxPeersPerTorrent) {
      if (swarm.peers.length === 0) this.swarms.delete(hashKey);
      throw new StoreFullError('torrent is full (too many peers)');
    }
    const existing = at === undefined ? undefined : swarm.peers[at];
    if (req.event === 'completed' && (!existing || existing.left > 0)) swarm.completed++;
    if (existing) {
      // Same address and port (the key): update in place.
      swarm.seeders += (req.left === 0 ? 1 : 0) - (existing.left === 0 ? 1 : 0);
      existing.peerId = req.peerId;
      existing.left = req.left;
      existing.uploaded = req.uploaded;
      existing.downloaded = req.downloaded;
      existing.lastSeen = now;
    } else {
      swarm.index.set(key, swarm.peers.length);
      swarm.peers.push({
        key,
        peerId: req.peerId,
        ip: req.ip,
        family: req.family,
        port: req.port,
        compact: compactAddress(req.ip, req.family, req.port),
        left: req.left,
        uploaded: req.uploaded,
        downloaded: req.downloaded,
        lastSeen: now,
      });
      if (req.left === 0) swarm.seeders++;
    }
    return {
      complete: swarm.seeders,
      incomplete: swarm.peers.length - swarm.seeders,
      peers: this.pick(swarm, key, req.numwant, now),
    };
  }

  /** Up to `n` live peers other than `self`, from a random starting point (as opentracker does). */
  private pick(swarm: Swarm, selfKey: string, n: number, now: number): PeerInfo[] {
    const out: PeerInfo[] = [];
    const total = swarm.peers.length;
    if (n <= 0 || total <= 1) return out;
    const start = Math.floor(Math.random() * total);
    for (let i = 0; i < total && out.length < n; i++) {
      const p = swarm.peers[(start + i) % total]!;
      if (now - p.lastSeen > this.ttlMs) continue;
      if (p.key === selfKey) continue;
      out.push(p);
    }
    return out;
  }

  private remove(swarm: Swarm, key: string): void {
    const at = swarm.index.get(key);
    if (at === undefined) return;
    const gone = swarm.peers[at]!;
    const last = swarm.peers.pop()!;
    swarm.index.delete(key);
    if (last !== gone) {
      swarm.peers[at] = last;
      swarm.index.set(last.key, at);
    }
    if (gone.left === 0) swarm.seeders--;
  }

  async scrape(infoHashes: Buffer[], _now: number): Promise<ScrapeEntry[]> {
    const unique = new Map(infoHashes.map((h) => [h.toString('latin1'), h]));
    return [...unique].map(([k, h]) => {
      const s = this.swarms.get(k);
      return { infoHash: h, complete: s?.seeders ?? 0, incomplete: s ? s.peers.length - s.seeders : 0, downloaded: s?.completed ?? 0 };
    });
  }

  async list(infoHash: Buffer, now: number): Promise<PeerRecord[]> {
    const s = this.swarms.get(infoHash.toString('latin1'));
    return s ? s.peers.filter((p) => now - p.lastSeen <= this.ttlMs) : [];
  }

  async expire(now: number): Promise<void> {
    for (const [k, s] of this.swarms) {
      for (let i = s.peers.length - 1; i >= 0; i--) {
        const p = s.peers[i]!;
        if (now - p.lastSeen > this.ttlMs) this.remove(s, p.key);
      }
      // Swarms left empty are deleted: trackers that forgot this leaked memory until they died.
      if (s.peers.length === 0) this.swarms.delete(k);
    }
  }

  async counts(): Promise<{ swarms: number; peers: number }> {
    let peers = 0;
    for (const s of this.swarms.values()) peers += s.peers.length;
    return { swarms: this.swarms.size, peers };
  }
}
