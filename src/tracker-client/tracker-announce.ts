/**
 * One announce to one tracker, HTTP(S) or UDP by the URL's scheme, and through BEP 12 tiers:
 * the one place the announcer's transports meet.
 */
import { announce as announceHttp } from './http-announce.ts';
import { announceUdp } from './udp-announce.ts';
import type { AnnounceParams } from './announce-url.ts';
import type { TrackerReply } from './reply.ts';
import { firstAnswer } from './tiers.ts';

export interface AnnounceLimits {
  /** Inactivity timeout (HTTP; UDP retransmits on the BEP 15 schedule instead). */
  timeoutMs?: number;
  /** Total time for one tracker (default: ANNOUNCE_DEADLINE_MS over HTTP, UDP_ANNOUNCE_DEADLINE_MS over UDP). */
  deadlineMs?: number;
  signal?: AbortSignal;
}

/** Announce to `tracker` over the transport its scheme names (`udp://` or `http(s)://`). */
export function announceToTracker(tracker: string, p: AnnounceParams, limits: AnnounceLimits = {}): Promise<TrackerReply> {
  if (/^udp:\/\//i.test(tracker)) return announceUdp(tracker, p, { deadlineMs: limits.deadlineMs, signal: limits.signal });
  return announceHttp(tracker, p, limits.timeoutMs, limits);
}

/** Announce through the tiers until one tracker answers (see firstAnswer). */
export function announceToTiers(tiers: string[][], p: AnnounceParams, limits: AnnounceLimits = {}): Promise<TrackerReply> {
  return firstAnswer(tiers, (tracker) => announceToTracker(tracker, p, limits), limits.signal);
}
