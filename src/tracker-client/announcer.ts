/**
 * The announce loop of a seeder or requester: `started`, then again every interval the tracker
 * gives, backoff while trackers are down, `completed`, and a bounded `stopped` at shutdown.
 */
import type { AnnounceEvent } from '../tracker/protocol/announce.ts';
import type { AnnounceParams } from './announce-url.ts';
import type { TrackerReply } from './reply.ts';
import { announceToTiers } from './tracker-announce.ts';

/**
 * Budget of the whole shutdown (`stop()`): an announce still in flight, then `stopped` to every
 * tier. The tracker expires us anyway, so it may not hold a program's exit longer than this.
 */
export const STOP_DEADLINE_MS = 3_000;
/** How long `completed()` holds its caller; the announce itself goes on (see Announcer.completed). */
export const COMPLETED_WAIT_MS = 500;

export interface AnnouncerEvents {
  /** Every successful answer. */
  onReply?(reply: TrackerReply, event: AnnounceEvent): void;
  /** A failed announce; `retryInSeconds` until the next try. */
  onError?(error: Error, retryInSeconds: number): void;
}

/**
 * Keeps a peer registered: announces `started`, then again every interval the tracker gives;
 * on failure retries with exponential backoff (1 s doubling to 60 s, at most the interval).
 */
export class Announcer {
  private timer: NodeJS.Timeout | undefined;
  private backoff = 1;
  private started = false;
  private stopped = false;
  private interval = 1800;
  private inFlight: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /** Aborts the loop's announces (not `stopped`) at shutdown. */
  private readonly loop = new AbortController();

  private readonly tiers: string[][];

  constructor(
    trackers: string | string[][],
    private readonly base: Pick<AnnounceParams, 'infoHash' | 'peerId' | 'port' | 'numwant'>,
    private readonly progress: () => { uploaded: number; downloaded: number; left: number },
    private readonly events: AnnouncerEvents = {},
  ) {
    this.tiers = typeof trackers === 'string' ? [[trackers]] : trackers;
  }

  start(): void {
    void this.run(this.started ? 'none' : 'started');
  }

  /** Announce now (e.g. to ask for more peers), unless one is already under way. */
  refresh(): void {
    if (!this.inFlight && !this.stopped) void this.run(this.started ? 'none' : 'started');
  }

  /**
   * Tell the tracker the download finished. The caller is held at most COMPLETED_WAIT_MS: the
   * announce goes on in the background with its own deadline, and stop() lets it end first (within
   * its budget) so that `stopped` stays the tracker's last word.
   */
  completed(): Promise<void> {
    return settledWithin(this.run('completed'), COMPLETED_WAIT_MS);
  }

  /**
   * Stop the loop and send `stopped` (best effort). Bounded by STOP_DEADLINE_MS in all: half of it
   * at most for an announce in flight, then the rest for `stopped` across every tier.
   */
  stop(): Promise<void> {
    return (this.stopping ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const budget = AbortSignal.timeout(STOP_DEADLINE_MS);
    if (this.inFlight) await settledWithin(this.inFlight, STOP_DEADLINE_MS / 2);
    this.loop.abort();
    if (!this.started) return;
    try {
      const limits = { timeoutMs: STOP_DEADLINE_MS, deadlineMs: STOP_DEADLINE_MS, signal: budget };
      await announceToTiers(this.tiers, { ...this.base, ...this.progress(), event: 'stopped' }, limits);
    } catch {
      // The tracker will expire us anyway.
    }
  }

  private run(event: AnnounceEvent): Promise<void> {
    clearTimeout(this.timer);
    const p = this.once(event).finally(() => {
      if (this.inFlight === p) this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  private async once(event: AnnounceEvent): Promise<void> {
    if (this.stopped) return;
    let delay: number;
    try {
      const reply = await announceToTiers(this.tiers, { ...this.base, ...this.progress(), event }, { signal: this.loop.signal });
      if (event === 'started') this.started = true;
      this.interval = reply.interval;
      this.backoff = 1;
      delay = reply.interval;
      if (!this.stopped) this.events.onReply?.(reply, event);
    } catch (e) {
      delay = Math.min(this.backoff, 60, this.interval);
      this.backoff = Math.min(this.backoff * 2, 60);
      if (!this.stopped) this.events.onError?.(e as Error, delay);
      if (event === 'completed' && !this.stopped) {
        // Retry the completion report itself, not a plain announce.
        this.timer = setTimeout(() => void this.run('completed'), delay * 1000);
        this.timer.unref();
        return;
      }
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.run(this.started ? 'none' : 'started'), delay * 1000);
    this.timer.unref();
  }
}

/** Resolves when `p` settles or after `ms`, whichever is first; `p` itself goes on. */
function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}
