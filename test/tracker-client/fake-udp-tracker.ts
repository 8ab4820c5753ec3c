/**
 * A scriptable UDP tracker for the client tests, written from BEP 15 independently of src/ (its
 * own encoders): it records every datagram with its arrival time and answers through `respond`,
 * which a test replaces to drop, delay, garble or refuse.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export const MAGIC = Buffer.from('0000041727101980', 'hex');

export interface Seen {
  at: number;
  packet: Buffer;
  from: AddressInfo;
  action: number;
  transactionId: number;
}

/** Datagrams to send back (none: silence). */
export type Respond = (seen: Seen, tracker: FakeUdpTracker) => Buffer[];

export function connectAnswer(transactionId: number, connectionId: Buffer): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0, 0);
  b.writeUInt32BE(transactionId, 4);
  connectionId.copy(b, 8);
  return b;
}

export function announceAnswer(transactionId: number, a: { interval: number; leechers: number; seeders: number; peers: Buffer }): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32BE(1, 0);
  b.writeUInt32BE(transactionId, 4);
  b.writeUInt32BE(a.interval, 8);
  b.writeUInt32BE(a.leechers, 12);
  b.writeUInt32BE(a.seeders, 16);
  return Buffer.concat([b, a.peers]);
}

export function errorAnswer(transactionId: number, message: string): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(3, 0);
  b.writeUInt32BE(transactionId, 4);
  return Buffer.concat([b, Buffer.from(message)]);
}

/** Compact IPv4 peers: `a.b.c.d:port` each. */
export function compactPeers(...peers: string[]): Buffer {
  return Buffer.concat(
    peers.map((p) => {
      const [ip, port] = p.split(':') as [string, string];
      const b = Buffer.alloc(6);
      ip.split('.').forEach((x, i) => (b[i] = Number(x)));
      b.writeUInt16BE(Number(port), 4);
      return b;
    }),
  );
}

export class FakeUdpTracker {
  readonly seen: Seen[] = [];
  /** Connection ids handed out, newest last; `valid` decides which ones announces may use. */
  readonly minted: Buffer[] = [];
  respond: Respond = (s, t) => t.behaveWell(s);
  /** The answer to a good announce. */
  answer = { interval: 900, leechers: 2, seeders: 3, peers: compactPeers('10.1.2.3:6881', '10.4.5.6:51413') };

  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (packet, from) => {
      const seen: Seen = {
        at: performance.now(),
        packet,
        from,
        action: packet.length >= 12 ? packet.readUInt32BE(8) : -1,
        transactionId: packet.length >= 16 ? packet.readUInt32BE(12) : -1,
      };
      this.seen.push(seen);
      for (const out of this.respond(seen, this)) socket.send(out, from.port, from.address);
    });
  }

  static async start(host = '127.0.0.1'): Promise<FakeUdpTracker> {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.bind(0, host);
    await once(socket, 'listening');
    return new FakeUdpTracker(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  url(pathAndQuery = '/announce'): string {
    const host = this.socket.address().address;
    return `udp://${host.includes(':') ? `[${host}]` : host}:${this.port}${pathAndQuery}`;
  }

  connects(): Seen[] {
    return this.seen.filter((s) => s.action === 0 && s.packet.subarray(0, 8).equals(MAGIC));
  }

  announces(): Seen[] {
    return this.seen.filter((s) => s.action === 1);
  }

  /** A correct tracker: any connect gets a fresh id; an announce with a known id gets `answer`. */
  behaveWell(s: Seen): Buffer[] {
    if (s.action === 0) return [connectAnswer(s.transactionId, this.mint())];
    if (s.action === 1 && this.valid(s.packet.subarray(0, 8))) return [announceAnswer(s.transactionId, this.answer)];
    return [errorAnswer(s.transactionId, 'bad connection id')];
  }

  mint(): Buffer {
    const id = Buffer.alloc(8);
    id.writeUInt32BE(0xc0ffee00 + this.minted.length, 4);
    this.minted.push(id);
    return id;
  }

  /** Which ids an announce may carry: by default every one minted. */
  valid = (id: Buffer): boolean => this.minted.some((m) => m.equals(id));

  async close(): Promise<void> {
    this.socket.close();
    await once(this.socket, 'close');
  }
}
