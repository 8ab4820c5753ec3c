/**
 * BEP 6 allowed-fast set: pieces a peer may request from us even while choked, so a newcomer
 * gets its first pieces at once. Pure. The set depends only on the peer's address block (IPv4
 * /24, IPv6 /48 as libtorrent), the info_hash and the piece count, so a peer cannot widen it
 * by reconnecting.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { ipv6Bytes, unmapped } from '../../bittorrent/address.ts';

/** Pieces in the set (BEP 6's example and libtorrent's default). */
export const ALLOWED_FAST_COUNT = 10;

function maskedAddress(ip: string): Buffer | undefined {
  const a = unmapped(ip);
  if (net.isIPv4(a)) {
    const b = Buffer.from(a.split('.').map(Number));
    b[3] = 0;
    return b;
  }
  if (!net.isIPv6(a)) return undefined;
  const b = ipv6Bytes(a);
  b.fill(0, 6);
  return b;
}

/** The allowed-fast pieces for the peer at `ip` (in BEP 6's order; empty for a non-IP address). */
export function allowedFastSet(ip: string, infoHash: Buffer, pieceCount: number, k = ALLOWED_FAST_COUNT): number[] {
  const masked = maskedAddress(ip);
  const want = Math.min(k, pieceCount);
  const out: number[] = [];
  if (!masked || want <= 0) return out;
  let x = Buffer.concat([masked, infoHash]);
  while (out.length < want) {
    x = createHash('sha1').update(x).digest();
    for (let i = 0; i < 5 && out.length < want; i++) {
      const index = x.readUInt32BE(i * 4) % pieceCount;
      if (!out.includes(index)) out.push(index);
    }
  }
  return out;
}

/** With BEP 6 a choke keeps our requests (the peer rejects each); one that does not gets this long. */
const CHOKE_GRACE_MS = 5_000;
/** Allowed-fast pieces we accept from one peer (BEP 6 suggests 10). */
const MAX_RECEIVED = 64;

/** The fast extension's state on one connection: allowed-fast both ways, and what a choke does to our requests. */
export class FastLink {
  /** Pieces we let the peer request while choked. */
  readonly granted = new Set<number>();
  /** Pieces the peer lets us request while choked. */
  readonly received = new Set<number>();
  private grace: NodeJS.Timeout | undefined;

  constructor(readonly enabled: boolean) {}

  /** The peers's allowed-fast set, those of its pieces we have; call once it said what it holds. */
  grant(ip: string, infoHash: Buffer, ours: { has(i: number): boolean; size: number }, peerHolds: number): number[] {
    if (!this.enabled || peerHolds >= ALLOWED_FAST_COUNT) return [];
    const out = allowedFastSet(ip, infoHash, ours.size).filter((i) => ours.has(i));
    for (const i of out) this.granted.add(i);
    return out;
  }

  /** The peer allowed us `index` (bounded); true when it is new. */
  receive(index: number): boolean {
    if (this.received.size >= MAX_RECEIVED || this.received.has(index)) return false;
    this.received.add(index);
    return true;
  }

  /** The peer choked us: without BEP 6 our requests are gone now; with it, after a grace. */
  choked(failRequests: () => void): void {
    if (!this.enabled) return failRequests();
    clearTimeout(this.grace);
    this.grace = setTimeout(failRequests, CHOKE_GRACE_MS);
    this.grace.unref();
  }

  stop(): void {
    clearTimeout(this.grace);
  }
}
