/**
 * The Redis swarm store: swarms live in one Redis (or Valkey) that any number of tracker processes,
 * on any number of machines, share. Every request is one script (redis-scripts.ts), so one round
 * trip, atomic across processes.
 *
 * What is exact across processes: peers per torrent, peers per address in a torrent, the torrent
 * count (maxTorrents), the new-torrent budget per address (one GCRA value per address in Redis), and
 * the peers/seeders totals (maxPeers, counts()) while some tracker runs its expiry pass. What is
 * approximate: a swarm that Redis drops by its key TTL (no tracker expired it for 2 x the peer
 * lifetime, e.g. every tracker was down) leaves its peers in the totals; they read high until
 * an expiry pass finds no swarm left (then they are reset), or Redis is emptied. scrape reports the counts as of the swarm's last announce or
 * expiry (as the memory store does), not a fresh pass.
 */
import { compactAddressInto, formatIPv4, formatIPv6 } from '../../bittorrent/address.ts';
import type { AnnounceRequest } from '../protocol/announce.ts';
import type { PeerSample } from '../protocol/answer.ts';
import type { ScrapeEntry } from '../protocol/scrape.ts';
import type { TrackerStats } from '../metrics/stats.ts';
import { isExempt, prefixLength } from './limits.ts';
import { RedisScripts, type ScriptReply } from './redis-client.ts';
import { ANNOUNCE_SCRIPT, COUNTS_SCRIPT, EXPIRE_SCRIPT, LIST_SCRIPT, LIST_SWARMS_SCRIPT, SCRAPE_SCRIPT } from './redis-scripts.ts';
import { boundedQuery, bytePrefix, hasPrefix, SwarmSelection, type SwarmPage, type SwarmQuery } from './swarm-listing.ts';
import { DEFAULT_STORE_LIMITS, StoreFullError, StoreUnavailableError, type AnnounceOutcome, type PeerPage, type PeerRecord, type StoreCounts, type StoreLimits, type SwarmStore } from './swarm-store.ts';

export interface RedisStoreOptions {
  /** redis://HOST:PORT[/DB] */
  url: string;
  /** A peer silent for longer than this is gone (2 x the announce interval). */
  ttlMs: number;
  limits?: Partial<StoreLimits>;
  stats?: TrackerStats;
  /** Prepended to every key (default `bt:`): several trackers, or test cases, in one database. */
  prefix?: string;
}

const SCRIPTS = { announce: ANNOUNCE_SCRIPT, scrape: SCRAPE_SCRIPT, list: LIST_SCRIPT, expire: EXPIRE_SCRIPT, counts: COUNTS_SCRIPT, listSwarms: LIST_SWARMS_SCRIPT };

/** The script's refusals, worded as the memory store words them. */
const REFUSALS = new Map<number, string>([
  [-1, 'tracker is full (too many torrents)'],
  [-2, 'tracker is full (too many peers)'],
  [-3, 'too many new torrents from your address; try again later'],
  [-4, 'torrent is full (too many peers)'],
]);
const UNLISTED = 'not listed: too many peers from your address in this torrent';
const EMPTY = Buffer.alloc(0);
/**
 * Peers one expiry slice may drop per ms of its budget, and swarms it may visit: Redis runs a
 * script alone, so a slice must stay short for every tracker process's announces behind it.
 */
const DROPS_PER_MS = 256;
const SWARMS_PER_SLICE = 256;
const DROPS_PER_FULL_SLICE = 20_000;
const MAX_NUMWANT = 1000;
/**
 * The swarm listing reads the index in chunks (one short script each), and at most this many
 * swarms per listing: a larger Redis is listed from its first swarms only (`scanned` says so).
 */
const LISTING_CHUNK = 500;
const MAX_LISTING_SCAN = 20_000;

export class RedisSwarmStore implements SwarmStore {
  private readonly limits: StoreLimits;
  private readonly prefix: Buffer;
  private readonly swarmsKey: Buffer;
  private readonly totalsKey: Buffer;
  /** Limits as script arguments, in ANNOUNCE_SCRIPT's order (ARGV 11..17). */
  private readonly limitArgs: number[];

  private constructor(
    private readonly redis: RedisScripts,
    private readonly ttlMs: number,
    limits: Partial<StoreLimits>,
    prefix: string,
  ) {
    this.limits = { ...DEFAULT_STORE_LIMITS, ...limits };
    this.prefix = Buffer.from(prefix, 'latin1');
    this.swarmsKey = this.key('swarms');
    this.totalsKey = this.key('totals');
    const l = this.limits;
    const spacing = 60_000 / l.newTorrentsPerMinute;
    const tolerance = (Math.max(1, l.newTorrentsBurst) - 1) * spacing;
    this.limitArgs = [l.maxTorrents, l.maxPeersPerTorrent, l.maxPeers, l.maxPeersPerAddress, spacing, tolerance, Math.ceil(2 * ttlMs)];
  }

  /** Connect and load the scripts, or reject with a one-line reason ("cannot reach Redis at ..."). */
  static async open(o: RedisStoreOptions): Promise<RedisSwarmStore> {
    const redis = await RedisScripts.connect(o.url, o.stats);
    try {
      await redis.load(SCRIPTS);
    } catch (e) {
      await redis.close();
      throw new Error(`cannot load the tracker's scripts into Redis: ${(e as Error).message}`);
    }
    return new RedisSwarmStore(redis, o.ttlMs, o.limits ?? {}, o.prefix ?? 'bt:');
  }

  private key(name: string, bytes: Buffer = EMPTY): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(name, 'latin1'), bytes]);
  }

  async announce(req: AnnounceRequest, now: number): Promise<AnnounceOutcome> {
    const addr = Buffer.allocUnsafe(req.family === 4 ? 6 : 18);
    compactAddressInto(addr, 0, req.ip, req.family, req.port);
    const withIds = !req.compact && !req.noPeerId;
    const keys = [this.key('z', req.infoHash), this.key('h', req.infoHash), this.swarmsKey, this.totalsKey, this.key('b', addr.subarray(0, prefixLength(addr)))];
    const exempt = isExempt(this.limits.exempt, addr);
    // The front ends cap numwant; the cap here keeps one script short whatever a caller passes.
    const numwant = Math.max(0, Math.min(req.numwant, MAX_NUMWANT));
    const args = [req.infoHash, addr, req.peerId, req.left === 0 ? 1 : 0, req.event, now, this.ttlMs, numwant, withIds ? 1 : 0, exempt ? 1 : 0, ...this.limitArgs];
    const r = await this.redis.run('announce', keys, args);
    if (r.length === 1) throw new StoreFullError(REFUSALS.get(r[0] as number) ?? 'tracker is full');
    const [complete, incomplete, v4, v6, ids4, ids6, listed] = r as [number, number, Buffer, Buffer, Buffer, Buffer, number];
    const peers: PeerSample = withIds ? { v4, v6, ids4, ids6 } : { v4, v6 };
    return listed === 1 ? { complete, incomplete, peers } : { complete, incomplete, peers, warning: UNLISTED };
  }

  async scrape(infoHashes: Buffer[], _now: number): Promise<ScrapeEntry[]> {
    const unique = [...new Map(infoHashes.map((h) => [h.toString('latin1'), h])).values()];
    if (unique.length === 0) return [];
    const r = (await this.redis.run('scrape', [], [this.prefix, ...unique])) as number[];
    return unique.map((infoHash, i) => {
      const complete = r[i * 3]!;
      return { infoHash, complete, incomplete: r[i * 3 + 1]! - complete, downloaded: r[i * 3 + 2]! };
    });
  }

  /** Live peers in order of last announce, oldest first. */
  async list(infoHash: Buffer, now: number, from = 0, max = Infinity): Promise<PeerPage> {
    const count = Number.isFinite(max) ? Math.max(0, Math.floor(max)) : -1;
    if (count === 0) return { total: await this.liveCount(infoHash, now), peers: [] };
    const r = await this.redis.run('list', [this.key('z', infoHash), this.key('h', infoHash)], [now - this.ttlMs, Math.max(0, Math.floor(from)), count]);
    const peers: PeerRecord[] = [];
    for (let i = 1; i + 2 < r.length; i += 3) peers.push(peerRecord(r[i] as Buffer, Number(String(r[i + 1])), r[i + 2] as Buffer));
    return { total: r[0] as number, peers };
  }

  private async liveCount(infoHash: Buffer, now: number): Promise<number> {
    const r = await this.redis.run('list', [this.key('z', infoHash), this.key('h', infoHash)], [now - this.ttlMs, 0, 0]);
    return r[0] as number;
  }

  /**
   * One slice: the swarms that have peers to drop come from the index, oldest first; the slice
   * drops at most DROPS_PER_MS x budgetMs peers. Resolves true when none is left to drop. While
   * Redis is away the pass is skipped (the failure is counted in the stats), not thrown.
   */
  async expireSome(now: number, budgetMs: number): Promise<boolean> {
    const drops = Number.isFinite(budgetMs) ? Math.max(64, Math.floor(budgetMs * DROPS_PER_MS)) : DROPS_PER_FULL_SLICE;
    try {
      const r = await this.redis.run('expire', [this.swarmsKey, this.totalsKey], [this.prefix, now - this.ttlMs, drops, SWARMS_PER_SLICE]);
      return r[0] === 1;
    } catch (e) {
      if (e instanceof StoreUnavailableError) return true;
      throw e;
    }
  }

  async expire(now: number): Promise<void> {
    while (!(await this.expireSome(now, Infinity)));
  }

  /** Three numbers kept up to date by the scripts: no scan (see the head comment for how exact). */
  async counts(): Promise<StoreCounts> {
    const [swarms, peers, seeders] = (await this.redis.run('counts', [this.swarmsKey, this.totalsKey], [])) as number[];
    return { swarms: swarms!, peers: peers!, seeders: seeders! };
  }

  async completedDownloads(): Promise<number> {
    const r = (await this.redis.run('counts', [this.swarmsKey, this.totalsKey], [])) as number[];
    return r[3] ?? 0;
  }

  /**
   * Chunks of the index in rank order (oldest peer first), sorted here; bounded to
   * MAX_LISTING_SCAN swarms. The index moves meanwhile, so a swarm seen twice counts once.
   */
  async listSwarms(query: SwarmQuery, _now: number): Promise<SwarmPage> {
    const q = boundedQuery(query);
    const selection = new SwarmSelection(q);
    const prefix = bytePrefix(q.prefix);
    const seen = new Set<string>();
    let size = 0;
    for (let first = 0; seen.size < MAX_LISTING_SCAN; first += LISTING_CHUNK) {
      const r = await this.redis.run('listSwarms', [this.swarmsKey], [this.prefix, first, LISTING_CHUNK]);
      size = r[0] as number;
      for (let i = 1; i + 4 < r.length; i += 5) {
        const ih = r[i] as Buffer;
        if (ih.length !== 20 || seen.has(ih.toString('latin1'))) continue;
        seen.add(ih.toString('latin1'));
        if (!hasPrefix(ih, 0, prefix)) continue;
        const seeders = r[i + 1] as number;
        selection.offer(ih, 0, seeders, Math.max(0, (r[i + 2] as number) - seeders), r[i + 3] as number, Number(String(r[i + 4])));
      }
      if (r.length - 1 < LISTING_CHUNK * 5) break;
    }
    const page: SwarmPage = { total: selection.total, swarms: selection.page() };
    return seen.size < size ? { ...page, scanned: seen.size } : page;
  }

  async close(): Promise<void> {
    await this.redis.close();
  }
}

function peerRecord(addr: Buffer, lastSeen: number, rec: Buffer): PeerRecord {
  const family = addr.length === 6 ? 4 : 6;
  return {
    peerId: rec.length >= 21 ? Buffer.from(rec.subarray(1, 21)) : Buffer.alloc(20),
    ip: family === 4 ? formatIPv4(addr) : formatIPv6(addr.subarray(0, 16)),
    family,
    port: addr.readUInt16BE(addr.length - 2),
    seeder: rec[0] === 0x31,
    lastSeen,
  };
}
