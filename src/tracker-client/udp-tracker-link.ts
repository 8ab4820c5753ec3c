/**
 * One UDP socket per tracker address, shared by every announce of this process to that tracker
 * and kept while its connection id may be reused (BEP 15: one minute). Why shared and connected:
 *  - a tracker may bind its connection ids to our address *and port* (ours does): the id is worth
 *    reusing only from the same socket;
 *  - a connected socket hears only that tracker (the kernel drops other senders), and it reports
 *    ICMP "port unreachable" (ECONNREFUSED), so a dead tracker fails at once instead of by timeout.
 * Answers are matched to requests by transaction id; anything else is ignored.
 */
import { hostPort } from '../bittorrent/address.ts';
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { answerHeader } from './udp-packets.ts';

/** A connection id is reused for this long after the tracker gave it (BEP 15). */
export const CONNECTION_ID_REUSE_MS = 60_000;

type Waiter = (answer: Buffer | Error) => void;

export class UdpTrackerLink {
  private readonly socket: dgram.Socket;
  private readonly ready: Promise<void>;
  private readonly waiting = new Map<number, Waiter>();
  private connection: { id: Buffer; at: number } | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly address: string,
    readonly port: number,
    readonly family: 4 | 6,
    private readonly onClose: (link: UdpTrackerLink) => void,
  ) {
    this.socket = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    // The socket never holds the process: a request in flight does, by its timer.
    this.socket.unref();
    this.socket.on('message', (packet) => this.deliver(packet));
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.on('error', (e) => {
        reject(e);
        this.fail(e);
      });
    });
    this.ready.catch(() => {});
    this.socket.connect(port, address);
  }

  /** Is a request waiting for its answer? */
  get busy(): boolean {
    return this.waiting.size > 0;
  }

  /** A connection id the tracker gave less than CONNECTION_ID_REUSE_MS ago, if any. */
  connectionId(now = Date.now()): Buffer | undefined {
    const c = this.connection;
    return c && now - c.at < CONNECTION_ID_REUSE_MS ? c.id : undefined;
  }

  rememberConnectionId(id: Buffer, now = Date.now()): void {
    this.connection = { id, at: now };
  }

  /** Drop `id` (the tracker refused it) unless a newer one replaced it meanwhile. */
  forgetConnectionId(id: Buffer): void {
    if (this.connection?.id.equals(id)) this.connection = undefined;
  }

  /**
   * Send `build(transactionId)` and wait up to `timeoutMs` for the answer carrying that
   * transaction id: the answer, or null when none came in time. Rejects when `signal` aborts
   * (with its reason) or the socket fails (the tracker is unreachable).
   */
  async request(build: (transactionId: number) => Buffer, timeoutMs: number, signal: AbortSignal): Promise<Buffer | null> {
    signal.throwIfAborted();
    if (this.closed) throw new Error(`udp tracker ${this.label()}: socket closed`);
    clearTimeout(this.idleTimer);
    let transactionId: number;
    do transactionId = randomInt(0, 2 ** 32);
    while (this.waiting.has(transactionId));
    try {
      return await new Promise<Buffer | null>((resolve, reject) => {
        const settle = (answer: Buffer | Error | null) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          if (answer instanceof Error) reject(answer);
          else resolve(answer);
        };
        const timer = setTimeout(() => settle(null), timeoutMs);
        const onAbort = () => settle(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiting.set(transactionId, settle);
        this.ready.then(() => this.send(build(transactionId), transactionId), () => {});
      });
    } finally {
      this.waiting.delete(transactionId);
      this.closeWhenIdle();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection = undefined;
    clearTimeout(this.idleTimer);
    this.fail(new Error(`udp tracker ${this.label()}: socket closed`));
    this.socket.close();
    this.onClose(this);
  }

  /** A failed send (EMSGSIZE, a closed socket) fails its request at once. */
  private send(packet: Buffer, transactionId: number): void {
    const failed = (e: Error) => this.waiting.get(transactionId)?.(new Error(`udp tracker ${this.label()}: send failed (${e.message})`));
    if (this.closed) return failed(new Error('socket closed'));
    this.socket.send(packet, (e) => e && failed(e));
  }

  private label(): string {
    return hostPort(this.address, this.port);
  }

  /** An answer for a request still waiting; a stray or late one is dropped. */
  private deliver(packet: Buffer): void {
    const header = answerHeader(packet);
    if (header) this.waiting.get(header.transactionId)?.(packet);
  }

  /** The socket failed (ECONNREFUSED: nothing listens there): every request waiting fails now. */
  private fail(e: Error): void {
    const why = new Error(`udp tracker ${this.label()} unreachable (${(e as NodeJS.ErrnoException).code ?? e.message})`);
    for (const waiter of [...this.waiting.values()]) waiter(why);
    if (!this.closed && (e as NodeJS.ErrnoException).code !== 'ECONNREFUSED') this.close();
  }

  /** With nothing in flight the socket lives on as long as its connection id may be reused. */
  private closeWhenIdle(): void {
    if (this.waiting.size || this.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.close(), CONNECTION_ID_REUSE_MS);
    this.idleTimer.unref();
  }
}

const links = new Map<string, UdpTrackerLink>();
/**
 * Sockets kept at most: a torrent may list hundreds of udp trackers; beyond this many, the
 * oldest idle links close (their ids are lost, nothing else).
 */
export const MAX_UDP_TRACKER_LINKS = 64;

/** The link to the tracker at `address`:`port` (an IP address), made on first use. */
export function udpTrackerLink(address: string, port: number, family: 4 | 6): UdpTrackerLink {
  const key = `${family}/${address}/${port}`;
  let link = links.get(key);
  if (!link) {
    for (const old of [...links.values()]) {
      if (links.size < MAX_UDP_TRACKER_LINKS) break;
      if (!old.busy) old.close();
    }
    link = new UdpTrackerLink(address, port, family, (closed) => {
      if (links.get(key) === closed) links.delete(key);
    });
    links.set(key, link);
  }
  return link;
}

/** Close every link now (tests; a program that must not wait for the idle timers). */
export function closeUdpTrackerLinks(): void {
  for (const link of [...links.values()]) link.close();
}
