/**
 * The UDP socket bittorrent-dht is given (k-rpc-socket takes `opts.socket`): datagrams come in
 * through deliver() — from the uTP endpoint's hook for what is not uTP, or from a socket of our
 * own — and go out through a send function. Every datagram passes the source limiter and the
 * KRPC gate (krpc-filter.ts) before the library sees it; what we send is fitted to one datagram.
 */
import { EventEmitter } from 'node:events';
import type dgram from 'node:dgram';
import net from 'node:net';
import { fitOutgoing, krpcRefusal } from './krpc-filter.ts';
import { SourceLimiter, DEFAULT_SOURCE_LIMITS, type SourceLimits } from './source-limiter.ts';

/** Bytes a second the DHT may send (libtorrent's default is 8,000): answers to forged queries amplify no more. */
export const DEFAULT_SEND_RATE = 64 * 1024;

export type SendDatagram = (buf: Buffer, port: number, address: string) => void;

export interface DhtSocketOptions {
  send: SendDatagram;
  /** The local address and port (the shared UDP socket's). */
  address(): { address: string; port: number; family?: string };
  /** The socket is IPv6 (dual stack): IPv4 peers are written ::ffff:a.b.c.d on it. */
  ipv6?: boolean;
  limits?: SourceLimits;
  /** Bytes a second sent at most, burst twice as many (default DEFAULT_SEND_RATE). */
  sendRate?: number;
}

export class DhtSocket extends EventEmitter {
  readonly limiter: SourceLimiter;
  /** Datagrams the gate refused, by the last reason (for tests and reports). */
  refused = 0;
  lastRefusal = '';
  /** Bytes sent, and datagrams not sent for want of budget. */
  sentBytes = 0;
  unsent = 0;
  private sendBudget: number;
  private sendBudgetAt = performance.now();
  private readonly sendRate: number;
  private closed = false;

  constructor(private readonly o: DhtSocketOptions) {
    super();
    this.limiter = new SourceLimiter(o.limits ?? DEFAULT_SOURCE_LIMITS, performance.now());
    this.sendRate = o.sendRate ?? DEFAULT_SEND_RATE;
    this.sendBudget = 2 * this.sendRate;
  }

  /** A datagram for the DHT: rate-limited, checked, then handed to the library. */
  deliver(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed || !rinfo.port) return;
    const address = rinfo.address.startsWith('::ffff:') ? rinfo.address.slice(7) : rinfo.address;
    if (!net.isIPv4(address)) return; // BEP 5's compact forms are IPv4 (the library writes nothing else)
    // Loopback has no attacker of its own: each port is a source there (a local test DHT shares one address).
    const source = address.startsWith('127.') ? `${address}:${rinfo.port}` : address;
    if (!this.limiter.allow(source, performance.now())) return;
    const why = krpcRefusal(msg);
    if (why !== null) {
      this.refused++;
      this.lastRefusal = why;
      return;
    }
    this.emit('message', msg, { ...rinfo, address, family: 'IPv4' });
  }

  // ---- what k-rpc-socket calls ----

  send(buf: Buffer, offset: number, length: number, port: number, address: string, cb?: (err?: Error) => void): void {
    const out = fitOutgoing(buf.subarray(offset, offset + length));
    if (!this.closed && out !== null && port > 0 && port < 65536 && net.isIPv4(address)) {
      if (this.spend(out.length)) this.o.send(out, port, this.o.ipv6 ? `::ffff:${address}` : address);
      else this.unsent++; // a query of ours times out as if lost; an answer is simply not given
    }
    cb?.();
  }

  private spend(bytes: number): boolean {
    const now = performance.now();
    this.sendBudget = Math.min(2 * this.sendRate, this.sendBudget + ((now - this.sendBudgetAt) * this.sendRate) / 1000);
    this.sendBudgetAt = now;
    if (this.sendBudget < bytes) return false;
    this.sendBudget -= bytes;
    this.sentBytes += bytes;
    return true;
  }

  /** The UDP socket is bound already (it is the peer's): only say so. */
  bind(...args: unknown[]): void {
    const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    process.nextTick(() => {
      this.emit('listening');
      cb?.();
    });
  }

  address(): { address: string; port: number; family: string } {
    const a = this.o.address();
    return { address: a.address, port: a.port, family: 'IPv4' };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.nextTick(() => this.emit('close'));
  }
}
