/**
 * Swarm store: info_hash -> peers. The interface is async so that a shared store (Redis) can
 * replace the in-memory one. A peer is keyed by (info_hash, ip, port), never by peer_id alone:
 * an announce from another address can neither evict nor change it.
 */
import { compactAddress, type AnnounceRequest, type PeerInfo, type ScrapeEntry } from './protocol.ts';

export interface PeerRecord extends PeerInfo {
  seeder: boolean;
  /** ms since the epoch of the last announce. */
  lastSeen: number;
}

/** RFC 5952 text of 16 address bytes: lower-case, the longest run of zero groups as `::`. */
export function formatIPv6(b: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1; // a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/**
 * A peer as the memory store keeps it: a few small strings instead of Buffers (a Buffer costs
 * about 100 bytes of object besides its bytes, and trackers hold millions of peers). The compact
 * address doubles as the peer's key in its swarm: it is exactly (ip, port).
 */
class Entry implements PeerRecord {
  constructor(
    /** Address then big-endian port, as latin1 (6 or 18 chars). */
    readonly key: string,
    readonly family: 4 | 6,
    /** peer_id as latin1 (20 chars). */
    public id: string,
    public seeder: boolean,
    public lastSeen: number,
  ) {}

  get compact(): Buffer {
    return Buffer.from(this.key, 'latin1');
  }
  get compactLatin1(): string {
    return this.key;
  }
  get peerId(): Buffer {
    return Buffer.from(this.id, 'latin1');
  }
  get port(): number {
    return (this.key.charCodeAt(this.key.length - 2) << 8) | this.key.charCodeAt(this.key.length - 1);
  }
  get ip(): string {
    const b = Buffer.from(this.key, 'latin1');
    if (this.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
    return formatIPv6(b);
  }
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
  peers: Entry[];
  index: Map<string, number>;
  seeders: number;
  /** Completed downloads reported with event=completed (BEP 48 `downloaded`). */
  completed: number;
}

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
    const key = compactAddress(req.ip, req.family, req.port).toString('latin1');
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
    const seeder = req.left === 0;
    if (req.event === 'completed' && !existing?.seeder) swarm.completed++;
    if (existing) {
      // Same address and port (the key): update in place.
      swarm.seeders += (seeder ? 1 : 0) - (existing.seeder ? 1 : 0);
      existing.id = req.peerId.toString('latin1');
      existing.seeder = seeder;
      existing.lastSeen = now;
    } else {
      swarm.index.set(key, swarm.peers.length);
      swarm.peers.push(new Entry(key, req.family, req.peerId.toString('latin1'), seeder, now));
      if (seeder) swarm.seeders++;
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
    if (gone.seeder) swarm.seeders--;
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
