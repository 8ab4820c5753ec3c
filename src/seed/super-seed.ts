/**
 * BEP 16 super-seeding: the seeder hides what it holds (have_none, or no bitfield) and offers
 * each peer one piece at a time (a HAVE): the one fewest peers have announced and nobody else is
 * being offered. Only offered pieces are served. A peer gets its next offer once the piece it
 * got has been announced by another peer too (so it was shared, not hoarded), or after a stall
 * guard when nobody takes it. So the first seeder uploads close to one copy while a swarm forms.
 */
import type { WireConnection } from '../peer/wire/connection.ts';
import type { SharedTorrent } from '../peer/shared-torrent.ts';

/** A peer whose piece nobody else took is offered the next after this long (a swarm of one). */
const STALL_MS = 3000;

interface Offer {
  /** -1: nothing to offer now. */
  piece: number;
  /** When the peer announced it, or began to wait (0: not yet). */
  gotAt: number;
}

export class SuperSeeder {
  /** How many peers announced each piece (HAVE or bitfield). */
  private readonly seen: Uint32Array;
  private readonly offers = new Map<WireConnection, Offer>();
  private readonly timer: NodeJS.Timeout;

  constructor(torrent: SharedTorrent) {
    this.seen = new Uint32Array(torrent.meta.pieceCount);
    this.timer = setInterval(() => this.unstall(), STALL_MS / 3);
    this.timer.unref();
  }

  attach(c: WireConnection): void {
    c.on('have', (i: number) => this.onHave(c, i));
    c.on('bitfield', () => {
      for (let i = 0; i < this.seen.length; i++) if (c.peerHave.has(i)) this.seen[i]!++;
      if (!this.offers.has(c)) this.offerNext(c, false);
    });
    c.on('close', () => {
      this.offers.delete(c);
      // Its pieces left with it: those nobody else holds become offerable again.
      for (let i = 0; i < this.seen.length; i++) if (c.peerHave.has(i) && this.seen[i]! > 0) this.seen[i]!--;
    });
    // A peer that does not speak the fast extension may say nothing of what it holds: offer now.
    if (!c.fast) this.offerNext(c, false);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private onHave(c: WireConnection, index: number): void {
    this.seen[index]!++;
    const mine = this.offers.get(c);
    if (!mine) return this.offerNext(c, false);
    if (mine.piece === index) {
      mine.gotAt = Date.now();
      if (this.seen[index]! >= 2) this.offerNext(c, false);
    }
    // Another peer announcing a piece we gave someone: that one shared it and may have the next.
    for (const [peer, offer] of this.offers) {
      if (peer !== c && offer.piece === index && offer.gotAt > 0) this.offerNext(peer, false);
    }
  }

  /** A peer whose piece nobody took, or that waits with nothing new to offer, gets the rarest piece it lacks. */
  private unstall(): void {
    const now = Date.now();
    for (const [peer, offer] of this.offers) if (offer.gotAt > 0 && now - offer.gotAt >= STALL_MS) this.offerNext(peer, true);
  }

  /**
   * Offer `c` a piece nobody announced and nobody else is being offered (the point of BEP 16:
   * pieces already in the swarm come from the swarm). With none left it waits (piece -1); after
   * STALL_MS, or `anyPiece`, the rarest piece it lacks will do.
   */
  private offerNext(c: WireConnection, anyPiece: boolean): void {
    if (c.closed) return;
    const busy = new Set<number>();
    for (const o of this.offers.values()) busy.add(o.piece);
    const rank = (i: number) => this.seen[i]! * 2 + (busy.has(i) ? 1 : 0);
    let best = -1;
    for (let i = 0; i < this.seen.length; i++) {
      if (c.peerHave.has(i) || c.offered.has(i)) continue;
      if (best < 0 || rank(i) < rank(best)) best = i;
    }
    if (best >= 0 && !anyPiece && rank(best) > 0) best = -1; // in the swarm already, or offered to another
    this.offers.set(c, { piece: best, gotAt: best < 0 ? Date.now() : 0 });
    if (best >= 0) c.offer(best);
  }
}
