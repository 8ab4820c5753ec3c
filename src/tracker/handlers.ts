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
  type TrackerLimits,
} from './protocol.ts';
import type { SwarmStore } from './store.ts';

export interface TrackerConfig {
  /** Seconds between announces that we ask of clients. */
  interval: number;
  minInterval: number;
  limits: TrackerLimits;
}

export function trackerConfig(intervalSeconds: number): TrackerConfig {
  return { interval: intervalSeconds, minInterval: Math.max(1, Math.floor(intervalSeconds / 2)), limits: DEFAULT_LIMITS };
}

/** Bad requests become a bencoded `failure reason`; anything else is a bug and is rethrown. */
function asFailure(e: unknown): Buffer {
  if (e instanceof TrackerRequestError) return failureResponse(e.message);
  throw e;
}

export async function handleAnnounce(store: SwarmStore, config: TrackerConfig, rawQuery: string, remoteAddress: string | undefined): Promise<Buffer> {
  let req;
  try {
    req = parseAnnounce(rawQuery, remoteAddress, config.limits);
  } catch (e) {
    return asFailure(e);
  }
  const outcome = await store.announce(req, Date.now());
  return encodeAnnounceResponse({ interval: config.interval, minInterval: config.minInterval, ...outcome }, req);
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
