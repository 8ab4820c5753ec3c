/**
 * Tracker client: build announce URLs, parse (possibly hostile) tracker answers, and an
 * announce loop that re-announces every interval and retries with backoff when the tracker is down.
 */
import { decode, isBytes, isDict, isInt, isList, BencodeError } from '../metainfo/bencode.ts';
import { httpGet, HttpError } from '../net/http-client.ts';
import { percentEncode } from './protocol/query.ts';
import type { AnnounceEvent } from './protocol/announce.ts';
import net from 'node:net';

export interface AnnounceParams {
  infoHash: Buffer;
  peerId: Buffer;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event: AnnounceEvent;
  numwant?: number;
}

export interface TrackerPeer {
  ip: string;
  port: number;
  peerId?: Buffer;
}

export interface TrackerReply {
  interval: number;
  minInterval?: number;
  complete?: number;
  incomplete?: number;
  peers: TrackerPeer[];
  warning?: string;
}

/** The tracker answered, and said no. */
export class TrackerFailure extends Error {}

/** Append the announce parameters to `announceUrl`, keeping any query it already has (`?passkey=`). */
export function buildAnnounceUrl(announceUrl: string, p: AnnounceParams): string {
  const parts = [
    `info_hash=${percentEncode(p.infoHash)}`,
    `peer_id=${percentEncode(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${p.uploaded}`,
    `downloaded=${p.downloaded}`,
    `left=${p.left}`,
    'compact=1',
  ];
  if (p.numwant !== undefined) parts.push(`numwant=${p.numwant}`);
  if (p.event !== 'none') parts.push(`event=${p.event}`);
  const hash = announceUrl.indexOf('#');
  const base = hash < 0 ? announceUrl : announceUrl.slice(0, hash);
  const sep = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return base + sep + parts.join('&');
}

const MAX_REPLY_PEERS = 2000;

/** Parse a tracker's bencoded answer: compact (BEP 23) or list peers, and `peers6` (BEP 7). */
export function parseTrackerReply(body: Buffer): TrackerReply {
  let top;
  try {
    top = decode(body);
  } catch (e) {
    if (e instanceof BencodeError) throw new TrackerFailure(`tracker sent an invalid answer (${e.message})`);
    throw e;
  }
  if (!isDict(top)) throw new TrackerFailure('tracker sent an invalid answer (not a dictionary)');
  const failure = top['failure reason'];
  if (failure !== undefined) throw new TrackerFailure(`tracker refused: ${isBytes(failure) ? failure.toString('utf8') : 'no reason given'}`);
  const num = (k: string) => {
    const v = top[k];
    return isInt(v) && v >= 0 ? v : undefined;
  };
  const peers: TrackerPeer[] = [];
  const add = (p: TrackerPeer) => {
    if (peers.length < MAX_REPLY_PEERS && p.port > 0 && p.port <= 65535) peers.push(p);
  };
  const v4 = top['peers'];
  if (isBytes(v4)) {
    for (let at = 0; at + 6 <= v4.length; at += 6) add({ ip: `${v4[at]}.${v4[at + 1]}.${v4[at + 2]}.${v4[at + 3]}`, port: v4.readUInt16BE(at + 4) });
  } else if (isList(v4)) {
    for (const p of v4) {
      if (!isDict(p)) continue;
      const ip = p['ip'];
      const port = p['port'];
      const id = p['peer id'];
      if (!isBytes(ip) || !isInt(port)) continue;
      const ipText = ip.toString('latin1');
      if (net.isIP(ipText) === 0) continue;
      add({ ip: ipText, port, peerId: isBytes(id) && id.length === 20 ? Buffer.from(id) : undefined });
    }
  }
  const v6 = top['peers6'];
  if (isBytes(v6)) {
    for (let at = 0; at + 18 <= v6.length; at += 18) {
      const groups: string[] = [];
      for (let g = 0; g < 8; g++) groups.push(v6.readUInt16BE(at + g * 2).toString(16));
      add({ ip: groups.join(':'), port: v6.readUInt16BE(at + 16) });
    }
  }
  const interval = num('interval');
  const warning = top['warning message'];
  return {
    // A tracker that asks for a silly interval is held to sane bounds.
    interval: Math.min(Math.max(interval ?? 1800, 1), 24 * 3600),
    minInterval: num('min interval'),
    complete: num('complete'),
    incomplete: num('incomplete'),
    peers,
    warning: isBytes(warning) ? warning.toString('utf8') : undefined,
  };
}

/** Inactivity timeout of an announce. */
export const ANNOUNCE_IDLE_MS = 10_000;
/** Total time one announce to one tracker may take: a tracker that trickles its answer is cut here. */
export const ANNOUNCE_DEADLINE_MS = 15_000;
/**
 * Budget of the whole shutdown (`stop()`): an announce still in flight, then `stopped` to every
 * tier. The tracker expires us anyway, so it may not hold a program's exit longer than this.
 */
export const STOP_DEADLINE_MS = 3_000;
/** How long `completed()` holds its caller; the announce itself goes on (see Announcer.completed). */
export const COMPLETED_WAIT_MS = 500;

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

/**
 * The trackers of a torrent as BEP 12 tiers: `announce-list` when present (each tier shuffled
 * once), else `announce`. Only http(s) trackers are used for now (udp:// is skipped).
 */
export function trackerTiers(announce: string | undefined, announceList: string[][]): string[][] {
  const usable = (u: string) => /^https?:\/\//i.test(u);
  const fromList = announceList.map((tier) => shuffle(tier.filter(usable))).filter((tier) => tier.length > 0);
  if (fromList.length) return fromList;
  // No usable tracker in announce-list (e.g. only udp://): fall back to `announce`.
  return announce && usable(announce) ? [[announce]] : [];
}

function shuffle<T>(a: T[]): T[] {
  const out = [...a];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Announce through the tiers in order, each tier's trackers in order, until one answers; the
 * one that answered moves to the front of its tier (BEP 12). Throws the last error if none did.
 */
export async function announceToTiers(tiers: string[][], p: AnnounceParams, limits: AnnounceLimits = {}): Promise<TrackerReply> {
  let last: Error = new Error('no http tracker to announce to');
  for (const tier of tiers) {
    for (let i = 0; i < tier.length; i++) {
      limits.signal?.throwIfAborted(); // out of time: no other tracker either
      try {
        const reply = await announce(tier[i]!, p, limits.timeoutMs, limits);
        if (i > 0) tier.unshift(...tier.splice(i, 1));
        return reply;
      } catch (e) {
        last = e as Error;
      }
    }
  }
  throw last;
}

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
