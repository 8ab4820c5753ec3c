/** One announce over HTTP(S) to one tracker: the I/O around the pure parts. */
import { httpGet, HttpError } from '../net/http-client.ts';
import { buildAnnounceUrl, type AnnounceParams } from './announce-url.ts';
import { parseTrackerReply, type TrackerReply } from './reply.ts';
import type { AnnounceLimits } from './tracker-announce.ts';

/** Inactivity timeout of an announce. */
export const ANNOUNCE_IDLE_MS = 10_000;
/** Total time one announce to one tracker may take: a tracker that trickles its answer is cut here. */
export const ANNOUNCE_DEADLINE_MS = 15_000;

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
