/**
 * TCP's TIME_WAIT for uTP: a connection closed cleanly is remembered for a while, so that the
 * peer's FIN, resent because our ack of it was lost, is acked again instead of answered with a
 * RESET (the peer would see "connection reset" for a connection that closed cleanly). Only FIN
 * and DATA are answered, and never a STATE or a RESET, so two endpoints cannot answer each other
 * for ever. Bounded in count and time. Pure (the caller sends).
 */
import { ST_DATA, ST_FIN, type UtpPacket } from './packet.ts';

/** What an ack of a closed connection says: our ids and sequence numbers at the close. */
export interface ClosedConnection {
  sendId: number;
  seqNr: number;
  ackNr: number;
}

/** How long a closed connection is remembered: a few retransmission timeouts of a slow link. */
export const TIME_WAIT_MS = 10_000;
/** At most this many closed connections remembered (the oldest go first). */
const MAX_REMEMBERED = 1024;

export class TimeWait {
  private readonly closed = new Map<string, ClosedConnection & { until: number }>();

  constructor(private readonly waitMs = TIME_WAIT_MS) {}

  remember(key: string, c: ClosedConnection, now: number): void {
    this.closed.delete(key);
    if (this.closed.size >= MAX_REMEMBERED) this.closed.delete(this.closed.keys().next().value as string);
    this.closed.set(key, { ...c, until: now + this.waitMs });
  }

  /**
   * The closed connection a packet for an unknown `key` belongs to, or undefined (not one, or
   * expired). `ack` is whether to answer it with a STATE (a FIN or DATA resent); a packet of a
   * remembered connection is never answered with a RESET.
   */
  lookup(key: string, p: UtpPacket, now: number): { closed: ClosedConnection; ack: boolean } | undefined {
    const c = this.closed.get(key);
    if (c === undefined) return undefined;
    if (now > c.until) {
      this.closed.delete(key);
      return undefined;
    }
    return { closed: c, ack: p.type === ST_FIN || p.type === ST_DATA };
  }
}
