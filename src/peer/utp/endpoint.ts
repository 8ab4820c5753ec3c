/**
 * A uTP endpoint: one UDP socket carrying many connections, told apart by (address, port,
 * connection id). Incoming SYNs become 'connection' events within limits; datagrams that are not
 * uTP (the DHT's bencoded KRPC will share the port) go to a hook; one timer serves every
 * connection, and acks/sends are batched once per event-loop turn.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { HEADER_LENGTH, decodePacket, type UtpPacket, UtpPacketError, writeHeader, ST_RESET, ST_STATE, ST_SYN } from './packet.ts';
import { TimeWait, type ClosedConnection } from './time-wait.ts';
import { nowMicros, nowMs, type UtpLink, UtpSocket } from './utp-socket.ts';

export interface UtpEndpointOptions {
  /** Connections at once, incoming and outgoing (default 200). */
  maxConnections?: number;
  /** Connections with one remote address (default 16). */
  maxPerAddress?: number;
  /** Connections that sent nothing but a SYN, kept at once (default 32; see makeRoomForHalfOpen). */
  maxHalfOpen?: number;
  /** ST_RESET answers to unknown packets per second, at most (default 50); acks of closed connections count too. */
  resetsPerSecond?: number;
  /** How long a cleanly closed connection's resent FIN is still acked (default TIME_WAIT_MS). */
  timeWaitMs?: number;
}

export interface ConnectOptions {
  signal?: AbortSignal;
  /** Give up if the SYN is not answered within this (default 10 s). */
  timeoutMs?: number;
}

export type OtherPacketHandler = (msg: Buffer, rinfo: dgram.RemoteInfo) => void;

/** One timer per endpoint; 20 ms so that a tail-loss probe (2 RTT, at least 20 ms) is not held back by it. */
const TICK_MS = 20;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export class UtpEndpoint extends EventEmitter {
  private readonly conns = new Map<string, UtpSocket>();
  private readonly perAddress = new Map<string, number>();
  private readonly dirty = new Set<UtpSocket>();
  /** Accepted connections that have sent nothing but their SYN, oldest first (a SYN's address may be forged). */
  private readonly halfOpen = new Set<UtpSocket>();
  private readonly timeWait: TimeWait;
  private flushScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private other: OtherPacketHandler | null = null;
  private resetTokens: number;
  private resetRefill = nowMs();
  private closed = false;
  private readonly maxConnections: number;
  private readonly maxPerAddress: number;
  private readonly maxHalfOpen: number;
  private readonly resetsPerSecond: number;
  private readonly link: UtpLink;

  private constructor(
    private readonly udp: dgram.Socket,
    opts: UtpEndpointOptions,
  ) {
    super();
    this.maxConnections = opts.maxConnections ?? 200;
    this.maxPerAddress = opts.maxPerAddress ?? 16;
    this.maxHalfOpen = opts.maxHalfOpen ?? 32;
    this.resetsPerSecond = opts.resetsPerSecond ?? 50;
    this.resetTokens = this.resetsPerSecond;
    this.timeWait = new TimeWait(opts.timeWaitMs);
    this.link = {
      send: (buf, port, address) => this.sendRaw(buf, port, address),
      scheduleFlush: (s) => this.scheduleFlush(s),
      forget: (s) => this.forget(s),
    };
    udp.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    // A send to a closed port comes back as an error on some systems: never fatal for the endpoint.
    udp.on('error', (e) => this.emit('warning', e));
  }

  /** Bind a UDP socket (udp6 when the host is IPv6) and start serving uTP on it. (It shadows Function.prototype.bind on this class, by design of the API.) */
  static override bind(port: number, host = '127.0.0.1', opts: UtpEndpointOptions = {}): Promise<UtpEndpoint> {
    const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    return new Promise((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve(new UtpEndpoint(udp, opts));
      });
    });
  }

  address(): { address: string; port: number } {
    const a = this.udp.address();
    return { address: a.address, port: a.port };
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Datagrams that are not uTP go here (e.g. the DHT); without a handler they are dropped. */
  onOtherPacket(handler: OtherPacketHandler | null): void {
    this.other = handler;
  }

  /** Send a raw datagram from this port (for a protocol sharing it, such as the DHT). */
  sendRaw(buf: Buffer, port: number, address: string): void {
    if (!this.closed) this.udp.send(buf, port, address);
  }

  /** Dial ip:port over uTP; resolves once the SYN is acknowledged. */
  connect(ip: string, port: number, opts: ConnectOptions = {}): Promise<UtpSocket> {
    if (this.closed) return Promise.reject(new Error('uTP endpoint closed'));
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason as Error);
    if (!this.hasRoomFor(ip)) return Promise.reject(new Error('uTP connection limit reached'));
    let recvId = 0;
    do recvId = Math.floor(Math.random() * 0xffff);
    while (this.conns.has(key(ip, port, recvId)) || this.conns.has(key(ip, port, recvId + 1)));
    const sock = new UtpSocket(this.link, { address: ip, port }, { recvId, sendId: (recvId + 1) & 0xffff }, { initiate: true });
    this.add(sock);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => sock.destroy(Object.assign(new Error(`uTP connect to ${ip}:${port} timed out`), { code: 'ETIMEDOUT' })), opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      const onAbort = () => sock.destroy(opts.signal!.reason as Error);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const swallow = () => {}; // errors before the caller has the socket come through the promise
      sock.on('error', swallow);
      sock.onConnect = (err) => {
        clearTimeout(timer);
        if (!err) sock.off('error', swallow);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(sock);
      };
    });
  }

  /** Reset every connection and close the UDP socket. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const s of [...this.conns.values()]) s.destroy();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return new Promise((resolve) => this.udp.close(() => resolve()));
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let p: UtpPacket;
    try {
      p = decodePacket(msg);
    } catch (e) {
      if (!(e instanceof UtpPacketError)) throw e;
      this.other?.(msg, rinfo);
      return;
    }
    if (p.type === ST_SYN) return this.onSyn(p, rinfo);
    const sock = this.conns.get(key(rinfo.address, rinfo.port, p.connectionId)) ?? (p.type === ST_RESET ? this.resetTarget(p, rinfo) : undefined);
    if (sock !== undefined) return sock.onPacket(p);
    const closed = this.timeWait.lookup(key(rinfo.address, rinfo.port, p.connectionId), p, nowMs());
    if (closed !== undefined) return void (closed.ack && this.answerClosed(closed.closed, rinfo));
    if (p.type !== ST_RESET) this.answerReset(p, rinfo);
  }

  /** The ack of a resent FIN (or DATA) of a connection closed cleanly, within the same budget as resets. */
  private answerClosed(c: ClosedConnection, rinfo: dgram.RemoteInfo): void {
    if (!this.takeAnswerToken()) return;
    const buf = Buffer.allocUnsafe(HEADER_LENGTH);
    writeHeader(buf, { type: ST_STATE, connectionId: c.sendId, timestamp: nowMicros(), timestampDiff: 0, wndSize: 0, seqNr: c.seqNr, ackNr: c.ackNr });
    this.sendRaw(buf, rinfo.port, rinfo.address);
  }

  /** A RESET may carry either of our ids (libutp checks both); match the send id too. */
  private resetTarget(p: UtpPacket, rinfo: dgram.RemoteInfo): UtpSocket | undefined {
    for (const id of [(p.connectionId + 1) & 0xffff, (p.connectionId - 1) & 0xffff]) {
      const s = this.conns.get(key(rinfo.address, rinfo.port, id));
      if (s !== undefined && s.sendId === p.connectionId) return s;
    }
    return undefined;
  }

  private onSyn(p: UtpPacket, rinfo: dgram.RemoteInfo): void {
    const recvId = (p.connectionId + 1) & 0xffff;
    const existing = this.conns.get(key(rinfo.address, rinfo.port, recvId));
    if (existing !== undefined) return existing.onPacket(p); // a retransmitted SYN: ack it again
    if (this.closed || this.listenerCount('connection') === 0 || !this.hasRoomFor(rinfo.address)) {
      return this.answerReset(p, rinfo);
    }
    this.makeRoomForHalfOpen();
    const sock = new UtpSocket(this.link, { address: rinfo.address, port: rinfo.port }, { recvId, sendId: p.connectionId }, { syn: p });
    this.add(sock);
    this.halfOpen.add(sock);
    this.emit('connection', sock);
  }

  /** At most maxHalfOpen SYN-only connections: the oldest gives way, so forged SYNs cannot fill the endpoint. */
  private makeRoomForHalfOpen(): void {
    for (const s of this.halfOpen) if (s.isConnected || s.destroyed) this.halfOpen.delete(s);
    if (this.halfOpen.size < this.maxHalfOpen) return;
    const oldest = this.halfOpen.values().next().value as UtpSocket;
    this.halfOpen.delete(oldest);
    oldest.destroy();
  }

  private hasRoomFor(address: string): boolean {
    return this.conns.size < this.maxConnections && (this.perAddress.get(address) ?? 0) < this.maxPerAddress;
  }

  /** One 20-byte RESET per unsolicited packet at most, and at most resetsPerSecond of them: never an amplifier. */
  private answerReset(p: UtpPacket, rinfo: dgram.RemoteInfo): void {
    if (!this.takeAnswerToken()) return;
    const buf = Buffer.allocUnsafe(HEADER_LENGTH);
    const seqNr = Math.floor(Math.random() * 0x10000);
    writeHeader(buf, { type: ST_RESET, connectionId: p.connectionId, timestamp: nowMicros(), timestampDiff: 0, wndSize: 0, seqNr, ackNr: p.seqNr });
    this.sendRaw(buf, rinfo.port, rinfo.address);
  }

  private takeAnswerToken(): boolean {
    const now = nowMs();
    this.resetTokens = Math.min(this.resetsPerSecond, this.resetTokens + ((now - this.resetRefill) * this.resetsPerSecond) / 1000);
    this.resetRefill = now;
    if (this.resetTokens < 1) return false;
    this.resetTokens--;
    return true;
  }

  private add(sock: UtpSocket): void {
    this.conns.set(key(sock.remoteAddress, sock.remotePort, sock.recvId), sock);
    this.perAddress.set(sock.remoteAddress, (this.perAddress.get(sock.remoteAddress) ?? 0) + 1);
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
  }

  private forget(sock: UtpSocket): void {
    const k = key(sock.remoteAddress, sock.remotePort, sock.recvId);
    if (this.conns.get(k) !== sock) return;
    this.conns.delete(k);
    this.dirty.delete(sock);
    const closed = sock.closedCleanly();
    if (closed !== null) this.timeWait.remember(k, closed, nowMs());
    const n = (this.perAddress.get(sock.remoteAddress) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(sock.remoteAddress);
    else this.perAddress.set(sock.remoteAddress, n);
    if (this.conns.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private tick(): void {
    const now = nowMs();
    for (const s of [...this.conns.values()]) s.tick(now);
  }

  /** Acks and sends for every connection touched in this turn go out together, once. */
  private scheduleFlush(s: UtpSocket): void {
    this.dirty.add(s);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const batch = [...this.dirty];
      this.dirty.clear();
      for (const sock of batch) sock.flush();
    });
  }
}

const key = (address: string, port: number, id: number): string => `${address}|${port}|${id & 0xffff}`;
