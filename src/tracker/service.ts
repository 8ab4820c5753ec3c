/**
 * The tracker service: what every front end (HTTP, UDP) calls with a parsed request,
 * whatever its transport. It holds the configuration (interval, request limits, address policy)
 * and the swarm store; it never sees a query string or a socket.
 */
import { DEFAULT_LIMITS, type TrackerLimits } from './protocol/query.ts';
import type { AnnounceRequest } from './protocol/announce.ts';
import type { AnnounceResponse } from './protocol/answer.ts';
import type { ScrapeEntry } from './protocol/scrape.ts';
import type { AnnounceOutcome, PeerPage, SwarmStore } from './store/swarm-store.ts';
import { clientAddress, type Cidr } from './client-address.ts';
import { TrackerRequestError } from './protocol/query.ts';
import { TrackerStats } from './metrics/stats.ts';
import { announceLine } from './announce-log.ts';

/** Which torrents the tracker serves (`--whitelist`, `--blacklist`); absent: every torrent. */
export interface TorrentFilter {
  allows(infoHash: Buffer): boolean;
}

/** An announce for a torrent the tracker does not serve (a private or curated tracker). */
export class NotRegisteredError extends TrackerRequestError {
  override readonly reason = 'not_registered';
  constructor() {
    super('torrent not registered');
  }
}

export interface TrackerConfig {
  /** Seconds between announces that we ask of clients. */
  interval: number;
  minInterval: number;
  limits: TrackerLimits;
  /** Honour the announce's `ip` parameter (`--trust-ip-param`). */
  trustIpParam: boolean;
  /** Proxies whose `X-Forwarded-For` is believed (`--trust-proxy`). */
  trustedProxies: Cidr[];
}

export function trackerConfig(intervalSeconds: number, extra: Partial<Pick<TrackerConfig, 'trustIpParam' | 'trustedProxies'>> = {}): TrackerConfig {
  return {
    interval: intervalSeconds,
    minInterval: Math.max(1, Math.floor(intervalSeconds / 2)),
    limits: DEFAULT_LIMITS,
    trustIpParam: extra.trustIpParam ?? false,
    trustedProxies: extra.trustedProxies ?? [],
  };
}

export interface ServiceParts {
  /** Where every front end records its requests (metrics/stats.ts). */
  stats?: TrackerStats;
  torrents?: TorrentFilter;
  /** `--verbose`: gets one line per announce (announce-log.ts). */
  log?: (line: string) => void;
}

export class TrackerService {
  readonly stats: TrackerStats;
  private readonly torrents: TorrentFilter | undefined;
  private readonly log: ((line: string) => void) | undefined;

  constructor(
    readonly store: SwarmStore,
    readonly config: TrackerConfig,
    parts: ServiceParts = {},
  ) {
    this.stats = parts.stats ?? new TrackerStats();
    this.torrents = parts.torrents;
    this.log = parts.log;
  }

  /**
   * The address policy: which address a request counts as coming from. The connection's, unless
   * it is a trusted proxy: then the nearest hop it vouches for (client-address.ts).
   */
  clientAddress(connectionAddress: string | undefined, forwardedFor: string | string[] | undefined): string | undefined {
    return clientAddress(connectionAddress, forwardedFor, this.config.trustedProxies);
  }

  /**
   * The announce's answer, at once when the store answers at once. Throws (or rejects with)
   * StoreFullError, a TrackerRequestError, when a limit of the store refuses it.
   */
  announce(req: AnnounceRequest): AnnounceResponse | Promise<AnnounceResponse> {
    return this.log ? this.loggedAnnounce(req, this.log) : this.announceNow(req);
  }

  private announceNow(req: AnnounceRequest): AnnounceResponse | Promise<AnnounceResponse> {
    if (this.torrents && !this.torrents.allows(req.infoHash)) throw new NotRegisteredError();
    const outcome = this.store.announce(req, Date.now());
    return outcome instanceof Promise ? outcome.then((o) => this.response(o)) : this.response(outcome);
  }

  /** Torrents the tracker does not serve are left out of the answer. */
  scrape(infoHashes: Buffer[]): Promise<ScrapeEntry[]> {
    const torrents = this.torrents;
    return this.store.scrape(torrents ? infoHashes.filter((h) => torrents.allows(h)) : infoHashes, Date.now());
  }

  /** Live peers `from` .. `from + max - 1` of a swarm, and how many it has. */
  peers(infoHash: Buffer, from: number, max: number): Promise<PeerPage> {
    return this.store.list(infoHash, Date.now(), from, max);
  }

  private loggedAnnounce(req: AnnounceRequest, log: (line: string) => void): AnnounceResponse | Promise<AnnounceResponse> {
    const logged = (a: AnnounceResponse | Error) => log(announceLine(req, a));
    try {
      const answer = this.announceNow(req);
      if (!(answer instanceof Promise)) logged(answer);
      else answer.then(logged, (e: unknown) => logged(e as Error));
      return answer;
    } catch (e) {
      logged(e as Error);
      throw e;
    }
  }

  private response(outcome: AnnounceOutcome): AnnounceResponse {
    // Spelled out, not spread: this runs once per announce.
    const c = this.config;
    return { interval: c.interval, minInterval: c.minInterval, complete: outcome.complete, incomplete: outcome.incomplete, peers: outcome.peers, warning: outcome.warning };
  }
}
