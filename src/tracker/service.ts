/**
 * Tracker request handling independent of any HTTP framework: (raw query, remote address) ->
 * bencoded Buffer, over a swarm store. The Express routes call these; a lean hot-path server can
 * call them directly.
 */
import {
  encodeAnnounceResponse,
  encodeScrapeResponse,
  failureResponse,
  parseAnnounce,
  parseScrape,
  TrackerRequestError,
  DEFAULT_LIMITS,
  type AnnounceRequest,
  type TrackerLimits,
} from './protocol/announce.ts';
import { StoreFullError, type AnnounceOutcome, type ImmediateSwarmStore, type SwarmStore } from './store/memory-store.ts';
import { clientAddress, type Cidr } from './client-address.ts';

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

/** Bad requests become a bencoded `failure reason`; anything else is a bug and is rethrown. */
function asFailure(e: unknown): Buffer {
  if (e instanceof TrackerRequestError) return failureResponse(e.message);
  throw e;
}

/** A parsed announce, or the bencoded failure to answer instead. */
function announceRequest(
  config: TrackerConfig,
  rawQuery: string,
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
): AnnounceRequest | Buffer {
  try {
    const from = clientAddress(remoteAddress, forwardedFor, config.trustedProxies);
    return parseAnnounce(rawQuery, from, config.limits, { trustIpParam: config.trustIpParam });
  } catch (e) {
    return asFailure(e);
  }
}

/** A full store becomes a bencoded `failure reason`; anything else is rethrown. */
function storeFailure(e: unknown): Buffer {
  if (e instanceof StoreFullError) return failureResponse(e.message);
  throw e;
}

function announceAnswer(config: TrackerConfig, req: AnnounceRequest, outcome: AnnounceOutcome): Buffer {
  // Spelled out, not spread: this runs once per announce.
  return encodeAnnounceResponse(
    { interval: config.interval, minInterval: config.minInterval, complete: outcome.complete, incomplete: outcome.incomplete, peers: outcome.peers, warning: outcome.warning },
    req,
  );
}

/**
 * @param remoteAddress the connection's address
 * @param forwardedFor the `X-Forwarded-For` header, believed only from `config.trustedProxies`
 */
export async function handleAnnounce(
  store: SwarmStore,
  config: TrackerConfig,
  rawQuery: string,
  remoteAddress: string | undefined,
  forwardedFor?: string | string[],
): Promise<Buffer> {
  const req = announceRequest(config, rawQuery, remoteAddress, forwardedFor);
  if (Buffer.isBuffer(req)) return req;
  let outcome;
  try {
    outcome = await store.announce(req, Date.now());
  } catch (e) {
    return storeFailure(e);
  }
  return announceAnswer(config, req, outcome);
}

/**
 * handleAnnounce for a store that answers at once (the in-memory one): the raw-socket fast path
 * then answers without a promise and a turn of the microtask queue per announce.
 */
export function handleAnnounceNow(
  store: ImmediateSwarmStore,
  config: TrackerConfig,
  rawQuery: string,
  remoteAddress: string | undefined,
  forwardedFor?: string | string[],
): Buffer {
  const req = announceRequest(config, rawQuery, remoteAddress, forwardedFor);
  if (Buffer.isBuffer(req)) return req;
  let outcome;
  try {
    outcome = store.announceNow(req, Date.now());
  } catch (e) {
    return storeFailure(e);
  }
  return announceAnswer(config, req, outcome);
}

export async function handleScrape(store: SwarmStore, config: TrackerConfig, rawQuery: string): Promise<Buffer> {
  let hashes;
  try {
    hashes = parseScrape(rawQuery, config.limits);
  } catch (e) {
    return asFailure(e);
  }
  return encodeScrapeResponse(await store.scrape(hashes, Date.now()));
}
