/** One announce over HTTP(S), to one tracker or through BEP 12 tiers: the I/O around the pure parts. */
import { httpGet, HttpError } from '../net/http-client.ts';
import { buildAnnounceUrl, type AnnounceParams } from './announce-url.ts';
import { parseTrackerReply, type TrackerReply } from './reply.ts';
import { firstAnswer } from './tiers.ts';

/** Inactivity timeout of an announce. */
export const ANNOUNCE_IDLE_MS = 10_000;
/** Total time one announce to one tracker may take: a tracker that trickles its answer is cut here. */
export const ANNOUNCE_DEADLINE_MS = 15_000;

export interface AnnounceLimits {
  /** Inactivity timeout. */
  timeoutMs?: number;
  /** Total time for one tracker. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export async function announce(announceUrl: string, p: AnnounceParams, timeoutMs = ANNOUNCE_IDLE_MS, limits: Omit<AnnounceLimits, 'timeoutMs'> = {}): Promise<TrackerReply> {
  const res = await httpGet(buildAnnounceUrl(announceUrl, p), {
    timeoutMs,
    deadlineMs: limits.deadlineMs ?? ANNOUNCE_DEADLINE_MS,
    signal: limits.signal,
    maxBytes: 1024 * 1024,
  });
  if (res.status !== 200) throw new HttpError(`tracker answered HTTP ${res.status}`);
  return parseTrackerReply(res.body);
}

/** Announce through the tiers until one tracker answers (see firstAnswer). */
export function announceToTiers(tiers: string[][], p: AnnounceParams, limits: AnnounceLimits = {}): Promise<TrackerReply> {
  return firstAnswer(tiers, (tracker) => announce(tracker, p, limits.timeoutMs, limits), limits.signal);
}
