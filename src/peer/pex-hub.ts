/**
 * Peer exchange (BEP 11) for one peer node. Every wire connection is listed with the port its
 * peer listens on (the one we dialled, or for a peer that dialled us its BEP 10 `p`; none: it is
 * left out). To each peer that speaks ut_pex we send, soon after the handshake and then once per
 * interval, the peers of that torrent we are connected to (added / dropped since our last message
 * to it, never itself). Peers others tell us of go to the listener (the download dials them
 * within its limits). A peer's messages closer together than the minimum gap are dropped and
 * counted. Private torrents (BEP 27) take no part.
 */
import net from 'node:net';
import { applyPexDiff, pexDiff, pexKey } from './pex-diff.ts';
import { decodePex, encodePex, PEX_FLAGS, type PexPeer } from './wire/pex.ts';
import type { WireConnection } from './wire/connection.ts';

export interface PexTiming {
  /** Between two of our messages to one peer (BEP 11: at most one a minute). */
  intervalMs: number;
  /** From a new connection to our first message. */
  firstDelayMs: number;
  /** A peer's messages closer together than this are dropped (and counted). */
  minGapMs: number;
}

/** Shortens the PEX interval, in milliseconds (tests); the first delay and the gap follow it. */
export const PEX_INTERVAL_ENV = 'P2P_PEX_INTERVAL_MS';
const DEFAULT_INTERVAL_MS = 60_000;

/** 60 s between messages, the first 3 s after the handshake, theirs at least 45 s apart. */
export function pexTiming(env: NodeJS.ProcessEnv = process.env): PexTiming {
  const raw = env[PEX_INTERVAL_ENV];
  const ms = raw !== undefined && /^\d{1,9}$/.test(raw) ? Math.min(Math.max(Number(raw), 100), 3_600_000) : DEFAULT_INTERVAL_MS;
  return { intervalMs: ms, firstDelayMs: Math.min(3000, ms), minGapMs: Math.floor(ms * 0.75) };
}

/** Peers `from` told us of (for torrent `infoHashHex`) that we did not dial already. */
export type PexListener = (infoHashHex: string, peers: PexPeer[], from: WireConnection) => void;

export interface PexCounts {
  /** Messages we sent. */
  sent: number;
  /** Messages taken from peers. */
  received: number;
  /** Messages dropped: they came sooner than the minimum gap after the last one taken. */
  tooSoon: number;
  /** Peers handed to the listener. */
  learned: number;
  /** Peers left unread in messages over the decoder's cap. */
  cut: number;
}

interface Link {
  /** The peer dialled us: its listen port is only what its BEP 10 handshake says. */
  incoming: boolean;
  /** The peers we told it of, by pexKey. */
  told: Map<string, PexPeer>;
  nextSendAt: number;
  lastTakenAt: number | undefined;
}

export class PexHub {
  readonly counts: PexCounts = { sent: 0, received: 0, tooSoon: 0, learned: 0, cut: 0 };
  private readonly links = new Map<WireConnection, Link>();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<PexListener>();

  constructor(private readonly timing: PexTiming = pexTiming()) {}

  /** Be told of the peers others tell us of (every download on the node listens; each filters by info_hash). */
  onLearned(f: PexListener): void {
    this.listeners.add(f);
  }

  /** Take part with a new wire connection (before its first message is read). */
  attach(c: WireConnection, incoming: boolean): void {
    if (c.closed || c.torrent.meta.private) return;
    const link: Link = { incoming, told: new Map(), nextSendAt: Date.now() + this.timing.firstDelayMs, lastTakenAt: undefined };
    this.links.set(c, link);
    c.ext.onPex = (payload) => this.receive(c, link, payload);
    c.once('close', () => this.links.delete(c));
    // One timer for the node; its ticks are much finer than the interval.
    const tickMs = Math.max(50, Math.min(1000, Math.floor(this.timing.intervalMs / 4)));
    this.timer ??= setInterval(() => this.tick(), tickMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.links.clear();
  }

  private tick(): void {
    const now = Date.now();
    for (const [c, link] of this.links) {
      if (now < link.nextSendAt || c.closed || !c.ext.peer?.m.get('ut_pex')) continue;
      link.nextSendAt = now + this.timing.intervalMs;
      const m = pexDiff(link.told, this.connectedPeers(c));
      if (m.added.length === 0 && m.dropped.length === 0) continue;
      if (!c.ext.sendExtension('ut_pex', encodePex(m))) continue;
      applyPexDiff(link.told, m);
      this.counts.sent++;
    }
  }

  /** The listen addresses of the peers connected for `to`'s torrent, `to` itself aside. */
  private connectedPeers(to: WireConnection | undefined, infoHashHex = to?.torrent.meta.infoHashHex, dialledOnly = false): Map<string, PexPeer> {
    const out = new Map<string, PexPeer>();
    const own = to && this.links.get(to);
    const self = to && own ? this.listenAddress(to, own) : undefined;
    for (const [w, link] of this.links) {
      if (w === to || w.closed || w.torrent.meta.infoHashHex !== infoHashHex || (dialledOnly && link.incoming)) continue;
      const p = this.listenAddress(w, link);
      if (p && !(self && p.ip === self.ip && p.port === self.port)) out.set(pexKey(p), p);
    }
    return out;
  }

  private listenAddress(w: WireConnection, link: Link): PexPeer | undefined {
    const port = link.incoming ? w.ext.peer?.p : w.socket.remotePort;
    if (!port || net.isIP(w.address) === 0) return undefined;
    let flags = 0;
    if (w.pieces.seed || w.ext.uploadOnly) flags |= PEX_FLAGS.seed;
    if (!link.incoming) flags |= PEX_FLAGS.reachable; // we reached it ourselves
    return { ip: w.address, port, flags };
  }

  /** A ut_pex body from `c`: dropped if too soon; a malformed one throws (the connection closes). */
  private receive(c: WireConnection, link: Link, payload: Buffer): void {
    const now = Date.now();
    if (link.lastTakenAt !== undefined && now - link.lastTakenAt < this.timing.minGapMs) {
      this.counts.tooSoon++;
      return;
    }
    const m = decodePex(payload);
    link.lastTakenAt = now;
    this.counts.received++;
    this.counts.cut += m.cut;
    const infoHashHex = c.torrent.meta.infoHashHex;
    // Peers we dialled are in use already; one that dialled us may not be (a peer of ours is
    // used over HTTP only once we reach it): the download decides.
    const known = this.connectedPeers(undefined, infoHashHex, true);
    const fresh = new Map<string, PexPeer>(); // a peer listed twice counts once
    for (const p of m.added) if (!known.has(pexKey(p))) fresh.set(pexKey(p), p);
    if (fresh.size === 0) return;
    this.counts.learned += fresh.size;
    for (const l of this.listeners) l(infoHashHex, [...fresh.values()], c);
  }
}
