/**
 * One uTP connection as a Duplex stream (a PeerSocket): the state machine of BEP 29 on top of
 * the Sender (our data) and the ReorderBuffer (theirs). The endpoint owns the UDP socket and
 * the timer; it hands us packets and calls tick()/flush().
 */
import { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { HEADER_LENGTH, encodePacket, type PacketType, type UtpPacket, writeHeader, ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN } from './packet.ts';
import { ReorderBuffer } from './reorder-buffer.ts';
import type { ClosedConnection } from './time-wait.ts';
import { Sender } from './sender.ts';

/**
 * Datagrams of at most 1400 bytes: under every usual path MTU (Ethernet 1500 less IP/UDP, PPPoE,
 * most tunnels) so nothing fragments, and libtorrent (which probes up to 1472 on IPv4) takes them.
 */
export const MAX_DATAGRAM = 1400;
const MSS = MAX_DATAGRAM - HEADER_LENGTH;
/** Our receive buffer: what we advertise in wnd_size, and the most we hold for a slow reader. */
const RECV_BUFFER = 1024 * 1024;
/** Bytes taken from write() before backpressure (the Writable buffer and the packets in flight come on top). */
const SEND_QUEUE = 256 * 1024;
/** No packet at all from the peer for this long while we wait on it: the peer is gone. */
const DEAD_PEER_MS = 30_000;
const MAX_TIMEOUTS = 8;
/** An idle connection: nothing heard for this long (BitTorrent keep-alives come every 2 minutes). */
const IDLE_MS = 5 * 60_000;
const KEEPALIVE_MS = 29_000;

export const nowMs = (): number => performance.now();
/** The microsecond clock of uTP timestamps, modulo 2^32. */
export const nowMicros = (): number => (performance.now() * 1000) >>> 0;

/** What a connection needs from its endpoint. */
export interface UtpLink {
  send(buf: Buffer, port: number, address: string): void;
  scheduleFlush(s: UtpSocket): void;
  forget(s: UtpSocket): void;
}

type State = 'syn-sent' | 'syn-recv' | 'connected' | 'closed';

export class UtpSocket extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly recvId: number;
  readonly sendId: number;
  private state: State;
  private readonly sender: Sender;
  private reorder: ReorderBuffer | null = null;
  private replyMicro = 0;
  private lastHeard = nowMs();
  private lastSent = nowMs();
  private needAck = false;
  private lastAdvertised = RECV_BUFFER;
  private pendingWrite: ((e?: Error | null) => void) | null = null;
  private pushedEof = false;
  private cleanClose = false;
  private synSeq = 0;
  /** Called once when the connection is up (initiator) or fails before that. */
  onConnect: ((err: Error | null) => void) | null = null;

  constructor(
    private readonly link: UtpLink,
    remote: { address: string; port: number },
    ids: { recvId: number; sendId: number },
    opening: { syn: UtpPacket } | { initiate: true },
  ) {
    // autoDestroy off: the connection ends when our FIN is acked, not when 'finish' fires (that would reset it).
    super({ allowHalfOpen: false, autoDestroy: false, writableHighWaterMark: 64 * 1024, readableHighWaterMark: 64 * 1024 });
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.recvId = ids.recvId;
    this.sendId = ids.sendId;
    const firstSeq = Math.floor(Math.random() * 0x10000);
    this.sender = new Sender(firstSeq, MSS, { stamp: (b, t, s) => this.stamp(b, t, s), send: (b) => this.transmit(b) });
    if ('syn' in opening) {
      this.state = 'syn-recv';
      this.reorder = new ReorderBuffer(opening.syn.seqNr);
      this.replyMicro = (nowMicros() - opening.syn.timestamp) >>> 0;
      this.sendState();
    } else {
      this.state = 'syn-sent';
      this.synSeq = firstSeq;
      this.sender.sendControl(ST_SYN, nowMs());
    }
  }

  setNoDelay(): this {
    return this;
  }

  /** One decoded packet for this connection. */
  onPacket(p: UtpPacket): void {
    if (this.state === 'closed') return;
    const now = nowMs();
    this.lastHeard = now;
    this.replyMicro = (nowMicros() - p.timestamp) >>> 0;
    if (p.type === ST_RESET) return void this.destroy(Object.assign(new Error('uTP connection reset by peer'), { code: 'ECONNRESET' }));
    if (p.type === ST_SYN) {
      if (this.state !== 'syn-sent') this.ackSoon();
      return;
    }
    if (this.state === 'syn-sent') {
      if (p.ackNr !== this.synSeq) return;
      this.state = 'connected';
      this.reorder = new ReorderBuffer(p.seqNr - 1);
      this.onConnect?.(null);
      this.onConnect = null;
    }
    this.sender.onAck(p.ackNr, p.sack, p.wndSize, p.timestampDiff, p.type, now);
    if (p.type === ST_DATA) this.onData(p);
    else if (p.type === ST_FIN) {
      this.reorder!.receiveFin(p.seqNr);
      this.ackSoon();
    }
    this.checkEof();
    this.link.scheduleFlush(this);
  }

  /** Send whatever the windows allow, and the ack if nothing carried it. Called once per burst. */
  flush(): void {
    if (this.state === 'closed') return;
    const now = nowMs();
    const sentData = this.state !== 'syn-sent' && this.sender.flush(now);
    if (this.needAck && (!sentData || (this.reorder?.bytes ?? 0) > 0)) this.sendState();
    this.needAck = false;
    this.releaseWriter();
    this.maybeFinish();
  }

  /** Timer: retransmissions, dead peers, keep-alives. */
  tick(now: number): void {
    if (this.state === 'closed') return;
    if (this.sender.tick(now) && this.sender.timeouts > MAX_TIMEOUTS) return this.fail('uTP connection timed out', 'ETIMEDOUT');
    const waiting = this.sender.inFlightPackets > 0;
    if (waiting && now - this.lastHeard > DEAD_PEER_MS) return this.fail('uTP peer stopped answering', 'ETIMEDOUT');
    if (now - this.lastHeard > IDLE_MS) return this.fail('uTP connection idle', 'ETIMEDOUT');
    if (this.state === 'syn-recv' && now - this.lastHeard > DEAD_PEER_MS) return this.fail('uTP peer never sent data', 'ETIMEDOUT');
    if (!waiting && this.state === 'connected' && now - this.lastSent > KEEPALIVE_MS) this.sendState();
    if (this.sender.queued > 0) this.link.scheduleFlush(this);
  }

  override _read(): void {
    // The reader drained some: if we had told the peer we were (nearly) full, say there is room.
    if (this.lastAdvertised < RECV_BUFFER / 2 && this.advertisedWindow() >= RECV_BUFFER / 2) this.ackSoon();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.sender.enqueue(chunk);
    this.pendingWrite = cb;
    this.releaseWriter();
    this.link.scheduleFlush(this);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    for (const c of chunks) this.sender.enqueue(c.chunk);
    this.pendingWrite = cb;
    this.releaseWriter();
    this.link.scheduleFlush(this);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.sender.queueFin();
    this.link.scheduleFlush(this);
    cb();
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (this.state !== 'closed' && !this.cleanClose) this.sendReset();
    this.state = 'closed';
    this.link.forget(this);
    this.pendingWrite = null;
    if (this.onConnect) {
      this.onConnect(err ?? new Error('uTP connection closed before it was established'));
      this.onConnect = null;
    }
    cb(err);
  }

  private onData(p: UtpPacket): void {
    if (this.state === 'syn-recv') this.state = 'connected';
    this.ackSoon();
    // Beyond our receive buffer the packet is dropped (the peer ignored our window); the ack says so.
    if (this.readableLength + this.reorder!.bytes > RECV_BUFFER) return;
    this.reorder!.receive(p.seqNr, p.payload, (b) => {
      if (!this.pushedEof) this.push(b);
    });
  }

  private checkEof(): void {
    if (this.reorder?.eof && !this.pushedEof) {
      this.pushedEof = true;
      this.push(null);
    }
  }

  /** Both directions ended (their FIN received, ours acked): the connection is done. */
  private maybeFinish(): void {
    if (this.pushedEof && this.sender.finAcked && this.state !== 'closed') {
      this.cleanClose = true;
      this.destroy();
    }
  }

  private releaseWriter(): void {
    if (this.pendingWrite !== null && this.sender.queued < SEND_QUEUE) {
      const cb = this.pendingWrite;
      this.pendingWrite = null;
      cb();
    }
  }

  private ackSoon(): void {
    this.needAck = true;
    this.link.scheduleFlush(this);
  }

  private advertisedWindow(): number {
    return Math.max(0, RECV_BUFFER - this.readableLength - (this.reorder?.bytes ?? 0));
  }

  private stamp(buf: Buffer, type: PacketType, seq: number): void {
    this.lastAdvertised = this.advertisedWindow();
    writeHeader(buf, {
      type,
      // The SYN carries the id we receive on; everything after, the id the peer receives on.
      connectionId: type === ST_SYN ? this.recvId : this.sendId,
      timestamp: nowMicros(),
      timestampDiff: this.replyMicro,
      wndSize: this.lastAdvertised,
      seqNr: seq,
      ackNr: this.reorder?.ackNr ?? 0,
    });
  }

  private transmit(buf: Buffer): void {
    this.lastSent = nowMs();
    this.link.send(buf, this.remotePort, this.remoteAddress);
  }

  private sendState(): void {
    const sack = this.reorder?.sack() ?? null;
    const buf = encodePacket({ type: ST_STATE, connectionId: 0, timestamp: 0, timestampDiff: 0, wndSize: 0, seqNr: 0, ackNr: 0 }, undefined, sack);
    this.stamp(buf, ST_STATE, this.sender.stateSeq);
    if (sack !== null) buf[1] = 1; // stamp() rewrote the extension byte
    this.transmit(buf);
  }

  private sendReset(): void {
    const buf = Buffer.allocUnsafe(HEADER_LENGTH);
    this.stamp(buf, ST_RESET, this.sender.stateSeq);
    this.transmit(buf);
  }

  private fail(message: string, code: string): void {
    this.destroy(Object.assign(new Error(message), { code }));
  }

  /** After a clean close, what an ack of a resent FIN says (endpoint's TimeWait); else null. */
  closedCleanly(): ClosedConnection | null {
    if (!this.cleanClose || !this.reorder) return null;
    return { sendId: this.sendId, seqNr: this.sender.stateSeq, ackNr: this.reorder.ackNr };
  }

  get isConnected(): boolean {
    return this.state === 'connected';
  }
}
