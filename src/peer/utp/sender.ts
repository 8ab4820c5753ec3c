/**
 * The sending half of a uTP connection: the queue of bytes the writer gave us, the packets in
 * flight (a ring, bounded), acks and selective acks, fast retransmit, timeouts, the FIN.
 * No sockets or timers here: the connection passes `now` in and a function that transmits.
 */
import { Congestion } from './congestion.ts';
import { HEADER_LENGTH, type PacketType, seqAdd, seqDiff, sackedSeqs, ST_DATA, ST_FIN, ST_STATE, ST_SYN } from './packet.ts';

/** Packets in flight at most: the ring size (the peer's reorder buffer is of the same order). */
const RING = 1024;
const MASK = RING - 1;
const DUP_ACKS_BEFORE_RESEND = 3;
/** A peer that advertises no room still gets one packet this often, so a lost window update cannot stall us. */
const ZERO_WINDOW_PROBE_MS = 1000;
/** The shortest wait before a tail-loss probe (loopback RTTs are far below the timer's grain). */
const MIN_PROBE_MS = 20;
const MAX_PROBES = 3;

interface OutPacket {
  seq: number;
  type: PacketType;
  buf: Buffer;
  payload: number;
  sentAt: number;
  transmissions: number;
  needResend: boolean;
}

export interface Transmit {
  /** Write the header (type, seq, and the connection's current ack/window/timestamps) into buf. */
  stamp(buf: Buffer, type: PacketType, seq: number): void;
  send(buf: Buffer): void;
}

export class Sender {
  seqNr: number;
  private oldest: number;
  private readonly ring: (OutPacket | undefined)[] = new Array<OutPacket | undefined>(RING);
  private inFlight = 0;
  private readonly queue: Buffer[] = [];
  private queueOffset = 0;
  queued = 0;
  /** The peer's advertised receive window; libtorrent's SYN says 0, so until it speaks assume some room. */
  peerWnd = 64 * 1024;
  private dupAcks = 0;
  private lossSeq: number;
  private lastProbe = 0;
  /** Consecutive timeouts without an ack advancing. */
  timeouts = 0;
  private finPending = false;
  finSeq: number | null = null;
  finAcked = false;
  readonly cc: Congestion;
  /** The latest send time of any packet acked so far: a packet sent well before it and still unacked is lost. */
  private latestAckedSentAt = -Infinity;
  readonly stats = { packets: 0, resent: 0, fastResent: 0, timeouts: 0, probes: 0 };
  private lastProgressAt = 0;
  private probes = 0;

  constructor(
    initialSeq: number,
    private readonly mss: number,
    private readonly tx: Transmit,
  ) {
    this.seqNr = initialSeq & 0xffff;
    this.oldest = this.seqNr;
    this.lossSeq = seqAdd(this.seqNr, -1);
    this.cc = new Congestion(mss, (RING - 24) * mss);
  }

  get inFlightPackets(): number {
    return seqDiff(this.seqNr, this.oldest);
  }

  /** The seq_nr a STATE packet carries: the next one, or the FIN's once sent (libtorrent ignores later ones). */
  get stateSeq(): number {
    return this.finSeq ?? this.seqNr;
  }

  /** Queue bytes to send. Copied: the writer's callback comes before they are packetised, and writers reuse their buffers then (block-sender does). */
  enqueue(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push(Buffer.from(chunk));
    this.queued += chunk.length;
  }

  /** Send a FIN once every queued byte is out. */
  queueFin(): void {
    this.finPending = true;
  }

  /** Send a control packet (SYN) through the ring so that it is retransmitted like data. */
  sendControl(type: PacketType, now: number): void {
    this.transmitNew(type, 0, now);
  }

  /**
   * An incoming packet's ack_nr, SACK, window and delay sample. Returns true when the ack
   * advanced (progress). Acks outside what we sent are ignored (injected or stale).
   */
  onAck(ackNr: number, sack: Buffer | null, wnd: number, delayUs: number, type: PacketType, now: number): boolean {
    const advanced = seqDiff(ackNr, seqAdd(this.oldest, -1));
    if (advanced < 0 || advanced > this.inFlightPackets) return false;
    this.peerWnd = wnd;
    const before = this.inFlight;
    let acked = 0;
    for (let i = 0; i < advanced; i++) {
      acked += this.release(this.oldest, now, true);
      this.oldest = seqAdd(this.oldest, 1);
    }
    // A peer that answers with a full window is alive, only slow to read: its timeouts do not count.
    if (advanced > 0 || wnd < this.mss) this.timeouts = 0;
    if (advanced > 0) {
      this.dupAcks = 0;
    } else if (type === ST_STATE && this.inFlightPackets > 0 && wnd >= this.mss) {
      this.dupAcks++;
    }
    if (sack !== null) acked += this.applySack(ackNr, sack, now);
    if (advanced > 0 || acked > 0) {
      this.lastProgressAt = now;
      this.probes = 0;
    }
    this.cc.delaySample(delayUs, now);
    if (acked > 0) this.cc.onAck(acked, before);
    if (sack !== null || this.dupAcks >= DUP_ACKS_BEFORE_RESEND) this.detectLoss();
    if (this.finSeq !== null && this.inFlightPackets === 0) this.finAcked = true;
    return advanced > 0;
  }

  /** Retransmit what needs it, then new data and the FIN, as the windows allow. Returns true if anything went out. */
  flush(now: number): boolean {
    let sent = false;
    const window = Math.min(this.cc.cwnd, this.peerWnd);
    for (let i = 0, seq = this.oldest; i < this.inFlightPackets; i++, seq = seqAdd(seq, 1)) {
      const p = this.ring[seq & MASK];
      if (p === undefined || !p.needResend) continue;
      // The oldest blocks the peer's in-order delivery: it goes even when the cut window is full (fast recovery).
      if (seq !== this.oldest && this.inFlight > 0 && this.inFlight + p.payload > window) return sent;
      this.retransmit(p, now);
      sent = true;
    }
    while (this.queued > 0 && this.inFlightPackets < RING - 1) {
      const len = Math.min(this.mss, this.queued);
      if (this.inFlight + len > window) {
        // Only the peer's window can be this small (cwnd is at least one MSS): probe it, slowly.
        const probe = this.inFlight === 0 && now - this.lastProbe >= ZERO_WINDOW_PROBE_MS;
        if (!probe) break;
        this.lastProbe = now;
      }
      this.transmitNew(ST_DATA, len, now);
      sent = true;
    }
    if (this.finPending && this.queued === 0 && this.finSeq === null && this.inFlightPackets < RING - 1) {
      this.finSeq = this.seqNr;
      this.transmitNew(ST_FIN, 0, now);
      sent = true;
    }
    return sent;
  }

  /**
   * Timer: on a retransmission timeout everything in flight is resent (window back to one
   * packet); before that, a tail-loss probe. Returns true on a timeout.
   */
  tick(now: number): boolean {
    const first = this.ring[this.oldest & MASK];
    if (this.inFlightPackets === 0 || first === undefined) return false;
    if (now - first.sentAt < this.cc.timeoutFor(first.type === ST_SYN)) {
      this.probeTail(now);
      return false;
    }
    this.timeouts++;
    this.stats.timeouts++;
    this.cc.onTimeout();
    for (let i = 0, seq = this.oldest; i < this.inFlightPackets; i++, seq = seqAdd(seq, 1)) {
      const p = this.ring[seq & MASK];
      if (p !== undefined && !p.needResend) {
        p.needResend = true;
        this.inFlight -= p.payload;
      }
    }
    this.lossSeq = seqAdd(this.seqNr, -1);
    this.retransmit(first, now);
    return true;
  }

  /**
   * Acks are batched, one per burst, so a lost ack (or a lost last packet) would leave the
   * window silent until the RTO. After two RTTs without progress, resend the newest packet
   * (up to MAX_PROBES times, a PTO apart): whatever the peer answers (an ack, a SACK)
   * restarts recovery without the timeout.
   */
  private probeTail(now: number): void {
    const pto = Math.max(2 * this.cc.smoothedRttMs, MIN_PROBE_MS);
    if (this.probes >= MAX_PROBES || now - this.lastProgressAt < pto * (this.probes + 1)) return;
    for (let d = this.inFlightPackets - 1; d >= 0; d--) {
      const p = this.ring[seqAdd(this.oldest, d) & MASK];
      if (p === undefined || p.needResend || p.type === ST_SYN) continue; // a SYN only times out: Congestion.timeoutFor
      if (now - p.sentAt < MIN_PROBE_MS) return;
      this.probes++;
      this.stats.probes++;
      this.retransmit(p, now);
      return;
    }
  }

  private transmitNew(type: PacketType, len: number, now: number): void {
    const buf = Buffer.allocUnsafe(HEADER_LENGTH + len);
    this.fill(buf, HEADER_LENGTH, len);
    const p: OutPacket = { seq: this.seqNr, type, buf, payload: len, sentAt: now, transmissions: 1, needResend: false };
    this.stats.packets++;
    this.ring[p.seq & MASK] = p;
    this.seqNr = seqAdd(this.seqNr, 1);
    if (this.inFlight === 0) this.lastProgressAt = now;
    this.inFlight += len;
    this.tx.stamp(buf, type, p.seq);
    this.tx.send(buf);
  }

  private retransmit(p: OutPacket, now: number): void {
    if (p.needResend) this.inFlight += p.payload;
    p.needResend = false;
    p.transmissions++;
    this.stats.resent++;
    p.sentAt = now;
    this.tx.stamp(p.buf, p.type, p.seq);
    this.tx.send(p.buf);
  }

  /** Copy `len` queued bytes into buf at `at`, across chunk boundaries. */
  private fill(buf: Buffer, at: number, len: number): void {
    while (len > 0) {
      const chunk = this.queue[0]!;
      const n = Math.min(len, chunk.length - this.queueOffset);
      chunk.copy(buf, at, this.queueOffset, this.queueOffset + n);
      at += n;
      len -= n;
      this.queued -= n;
      this.queueOffset += n;
      if (this.queueOffset === chunk.length) {
        this.queue.shift();
        this.queueOffset = 0;
      }
    }
  }

  /** Drop a packet from the ring; its bytes if it was in flight. RTT only from packets sent once (Karn). */
  private release(seq: number, now: number, rttOk: boolean): number {
    const p = this.ring[seq & MASK];
    if (p === undefined || p.seq !== seq) return 0;
    this.ring[seq & MASK] = undefined;
    if (p.sentAt > this.latestAckedSentAt) this.latestAckedSentAt = p.sentAt;
    if (rttOk && p.transmissions === 1) this.cc.rttSample(now - p.sentAt);
    if (p.needResend) return 0;
    this.inFlight -= p.payload;
    return p.payload;
  }

  private applySack(ackNr: number, sack: Buffer, now: number): number {
    let acked = 0;
    for (const seq of sackedSeqs(ackNr, sack)) {
      const d = seqDiff(seq, this.oldest);
      if (d <= 0 || d >= this.inFlightPackets) continue;
      acked += this.release(seq, now, false);
    }
    return acked;
  }

  /**
   * Fast retransmit: a packet with 3 or more later packets acked (selectively), or the oldest
   * after 3 duplicate acks, is lost. A retransmission is lost too once a packet sent after it
   * (plus a quarter RTT of tolerated reordering) was acked, so a lost resend needs no timeout.
   * The window is cut once per loss event.
   */
  private detectLoss(): void {
    const reorderSlack = Math.max(1, this.cc.smoothedRttMs / 4);
    let ackedAfter = 0;
    let lost = false;
    for (let d = this.inFlightPackets - 1; d >= 0; d--) {
      const seq = seqAdd(this.oldest, d);
      const p = this.ring[seq & MASK];
      if (p === undefined) {
        ackedAfter++;
        continue;
      }
      const isLost = ackedAfter >= DUP_ACKS_BEFORE_RESEND || (d === 0 && this.dupAcks >= DUP_ACKS_BEFORE_RESEND);
      if (!isLost || p.needResend) continue;
      if (p.transmissions > 1 && p.sentAt + reorderSlack > this.latestAckedSentAt) continue;
      this.stats.fastResent++;
      p.needResend = true;
      this.inFlight -= p.payload;
      if (seqDiff(seq, this.lossSeq) > 0) lost = true;
    }
    if (lost) {
      this.cc.onLoss();
      this.lossSeq = seqAdd(this.seqNr, -1);
    }
    if (this.dupAcks >= DUP_ACKS_BEFORE_RESEND) this.dupAcks = 0;
  }
}
