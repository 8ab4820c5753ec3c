/**
 * The tracker dashboard's numbers, read when asked and shared between viewers: the counters (of
 * every worker with --workers, through the primary), the store's counts, the rate history, pages
 * of swarms (a walk of the store, cached for a second, one at a time) and a swarm's peers.
 */
import cluster from 'node:cluster';
import type { TrackerService } from '../service.ts';
import { storeCounts } from '../metrics/local-source.ts';
import { sumSnapshots } from '../metrics/exposition.ts';
import { workerMetricsSource } from '../cluster/worker-metrics.ts';
import type { StatsSnapshot } from '../metrics/stats.ts';
import type { StoreCounts } from '../store/swarm-store.ts';
import { MemorySwarmStore } from '../store/memory-store.ts';
import { RedisSwarmStore } from '../store/redis-store.ts';
import { MAX_LISTING_DEPTH } from '../store/swarm-listing.ts';
import { TtlCache, WorkQueue } from '../../dashboard/cache.ts';
import { RateHistory, type RatePoint } from './history.ts';
import { listingQueryString, PEERS_PER_PAGE, type ListingRequest } from './query.ts';
import { pageCount, peerRow, statsView, swarmsView, type StatsView, type SwarmsView, type SwarmView, type TorrentNames } from './views.ts';

/** How long the store may take for its counts before the numbers show without them. */
const COUNTS_TIMEOUT_MS = 2000;
/** A page of swarms is shared this long. */
const LISTING_TTL_MS = 1000;

interface Collected {
  snapshot: StatsSnapshot;
  processes: number;
  counts: StoreCounts | null;
}

export class TrackerDashboardData {
  readonly history = new RateHistory();
  private readonly collected = new TtlCache<StatsView>(250, 1);
  private readonly listings = new TtlCache<SwarmsView>(LISTING_TTL_MS, 64);
  /** One walk of the store at a time; a few may wait, more are refused (503). */
  private readonly walks = new WorkQueue(1, 8);

  constructor(
    private readonly service: TrackerService,
    readonly names?: TorrentNames,
  ) {}

  get storeKind(): string {
    const s = this.service.store;
    return s instanceof MemorySwarmStore ? 'memory' : s instanceof RedisSwarmStore ? 'redis' : 'other';
  }

  /** The numbers now, shared for 250 ms by every caller. */
  stats(): Promise<StatsView> {
    return this.collected.get('stats', () => this.readStats());
  }

  /** The numbers now, and a new point of the rate history (the live tick, once a second). */
  async tick(): Promise<{ stats: StatsView; point: RatePoint | undefined }> {
    const stats = await this.readStats();
    const point = this.history.sample(stats.now, stats.announces, stats.scrapes);
    return { stats: { ...stats, announces_per_second: point?.announces ?? null, scrapes_per_second: point?.scrapes ?? null }, point };
  }

  swarms(r: ListingRequest): Promise<SwarmsView> {
    const list = this.service.store.listSwarms?.bind(this.service.store);
    if (list === undefined) return Promise.reject(new Error('this store cannot list its swarms'));
    return this.listings.get(listingQueryString(r), () =>
      this.walks.run(async () => {
        const page = await list(r.query, Date.now());
        return swarmsView(page, this.names, { sort: r.query.sort, order: r.query.order, prefix: r.query.prefix }, r.page, r.perPage, Math.floor(MAX_LISTING_DEPTH / r.perPage));
      }),
    );
  }

  /** A swarm's counts and one page of its live peers (a torrent the tracker does not serve is empty). */
  async swarm(infoHash: Buffer, page: number): Promise<SwarmView> {
    const [entries, peers] = await Promise.all([this.service.scrape([infoHash]), this.service.peers(infoHash, (page - 1) * PEERS_PER_PAGE, PEERS_PER_PAGE)]);
    const e = entries[0];
    const hex = infoHash.toString('hex');
    return {
      info_hash: hex,
      name: this.names?.nameOf(hex) ?? null,
      seeders: e?.complete ?? 0,
      leechers: e?.incomplete ?? 0,
      completed: e?.downloaded ?? 0,
      total_peers: peers.total,
      page,
      per_page: PEERS_PER_PAGE,
      pages: pageCount(peers.total, PEERS_PER_PAGE),
      peers: peers.peers.map(peerRow),
    };
  }

  private async readStats(): Promise<StatsView> {
    const [c, completed] = await Promise.all([this.collect(), this.completed()]);
    const latest = this.history.latest();
    // A rate older than a few seconds is not "now" (nobody watched meanwhile).
    const fresh = latest !== undefined && Date.now() - latest.t < 5000 ? latest : undefined;
    return statsView({ now: Date.now(), uptimeSeconds: process.uptime(), store: this.storeKind, processes: c.processes, snapshot: c.snapshot, counts: c.counts, completed, latest: fresh });
  }

  /** This process's counters, or with --workers every worker's (IPC through the primary). */
  private async collect(): Promise<Collected> {
    if (!cluster.isWorker) return { snapshot: this.service.stats.snapshot(), processes: 1, counts: await storeCounts(this.service, COUNTS_TIMEOUT_MS) };
    const r = await workerMetricsSource().collect();
    const snapshots = r.processes.map((p) => p.snapshot);
    return { snapshot: sumSnapshots(r.retired === undefined ? snapshots : [...snapshots, r.retired]), processes: r.processes.length, counts: r.counts };
  }

  private async completed(): Promise<number | null> {
    const read = this.service.store.completedDownloads?.bind(this.service.store);
    if (read === undefined) return null;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), COUNTS_TIMEOUT_MS)));
    try {
      return await Promise.race([read(), late]);
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}
