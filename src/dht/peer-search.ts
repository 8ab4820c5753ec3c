/**
 * get_peers for one torrent while it downloads: at once, again with backoff (5 s doubling to
 * 60 s) while no source is usable, and every 5 minutes while some are, each address:port passed
 * on once per lookup round.
 */
import type { PeerDht } from './peer-dht.ts';
import type { TrackerPeer } from '../tracker-client/reply.ts';

export const STARVED_FIRST_MS = 5_000;
export const STARVED_MAX_MS = 60_000;
export const FED_EVERY_MS = 5 * 60_000;
/** Peers remembered between rounds (a lookup yields at most a few hundred). */
const MAX_SEEN = 2000;

export interface PeerSearchHooks {
  /** No source is usable now: look again soon. */
  starved(): boolean;
  /** A peer the DHT listed for the torrent. */
  onPeer(p: TrackerPeer): void;
}

export class DhtPeerSearch {
  private timer: NodeJS.Timeout | undefined;
  private stopOnPeers: (() => void) | undefined;
  private readonly seen = new Set<string>();
  /** Lookups in a row that found us starved. */
  private starvedRounds = 0;
  private lastAt = 0;

  constructor(
    private readonly dht: PeerDht,
    private readonly infoHash: Buffer,
    private readonly hooks: PeerSearchHooks,
  ) {}

  start(): void {
    if (this.timer) return;
    this.stopOnPeers = this.dht.onPeers(this.infoHash, (ip, port) => {
      const key = `${ip}:${port}`;
      if (this.seen.has(key) || this.seen.size >= MAX_SEEN) return;
      this.seen.add(key);
      this.hooks.onPeer({ ip, port });
    });
    this.lookup(Date.now());
    this.timer = setInterval(() => this.tick(Date.now()), 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.stopOnPeers?.();
  }

  private tick(now: number): void {
    const starvedWait = Math.min(STARVED_FIRST_MS * 2 ** Math.max(0, this.starvedRounds - 1), STARVED_MAX_MS);
    if (now - this.lastAt >= (this.hooks.starved() ? starvedWait : FED_EVERY_MS)) this.lookup(now);
  }

  /** A new round: peers seen before are passed on again (a peer that failed may be back). */
  private lookup(now: number): void {
    this.seen.clear();
    this.dht.lookup(this.infoHash);
    this.starvedRounds = this.hooks.starved() ? this.starvedRounds + 1 : 0;
    this.lastAt = now;
  }
}
