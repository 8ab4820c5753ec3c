/**
 * A simple choker (BEP 3's tit-for-tat, simplified): every 10 s, unchoke the interested peers
 * that gave us the most (or, when we only seed, those longest without a turn) in a few regular
 * slots, plus one optimistic unchoke rotated every 30 s so newcomers get a chance.
 */
import type { WireConnection } from './connection.ts';

export class Choker {
  private optimistic: WireConnection | undefined;
  private rounds = 0;
  private readonly timer: NodeJS.Timeout;
  private lastDownloaded = new Map<WireConnection, number>();

  constructor(
    private readonly peers: () => Iterable<WireConnection>,
    private readonly slots = 4,
    periodMs = 10_000,
  ) {
    this.timer = setInterval(() => this.run(), periodMs);
    this.timer.unref();
  }

  /** A peer became interested or one left: give free slots at once, without choking anyone. */
  fill(): void {
    const all = [...this.peers()].filter((c) => !c.closed);
    let unchoked = all.filter((c) => !c.amChoking && c.peerInterested).length;
    for (const c of all) {
      if (unchoked >= this.slots + 1) break;
      if (c.amChoking && c.peerInterested) {
        c.unchoke();
        unchoked++;
      }
    }
  }

  /** A full round: regular slots by what peers gave us, plus the optimistic one. */
  run(): void {
    const all = [...this.peers()].filter((c) => !c.closed);
    const interested = all.filter((c) => c.peerInterested);
    // Rate since the last round: bytes the peer sent us.
    const gave = new Map<WireConnection, number>();
    for (const c of all) gave.set(c, c.downloaded - (this.lastDownloaded.get(c) ?? 0));
    this.lastDownloaded = new Map(all.map((c) => [c, c.downloaded]));
    this.rounds++;
    const ranked = [...interested].sort((a, b) => (gave.get(b)! - gave.get(a)!) || a.lastUnchokedAt - b.lastUnchokedAt);
    const regular = new Set(ranked.slice(0, this.slots));
    if (this.rounds % 3 === 0) this.optimistic = undefined;
    if (!this.optimistic || this.optimistic.closed || !this.optimistic.peerInterested || regular.has(this.optimistic)) {
      const others = interested.filter((c) => !regular.has(c));
      this.optimistic = others[Math.floor(Math.random() * others.length)];
    }
    for (const c of all) {
      if (regular.has(c) || c === this.optimistic) c.unchoke();
      else c.choke();
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
