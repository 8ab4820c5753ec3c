/**
 * A BEP 15 client for the tests, written from the BEP, not from src/tracker/udp (so a
 * misreading there is not repeated here): packet builders and a socket that asks and waits.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export function connectPacket(transactionId: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(0x41727101980n, 0);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(transactionId, 12);
  return b;
}

export interface AnnounceFields {
  connectionId: Buffer;
  transactionId: number;
  infoHash: Buffer;
  peerId?: Buffer;
  downloaded?: bigint;
  left?: bigint;
  uploaded?: bigint;
  /** 0 none, 1 completed, 2 started, 3 stopped */
  event?: number;
  ip?: number;
  key?: number;
  numwant?: number;
  port: number;
  /** Raw BEP 41 option bytes appended after the 98 bytes. */
  options?: Buffer;
}

export function announcePacket(f: AnnounceFields): Buffer {
  const b = Buffer.alloc(98);
  f.connectionId.copy(b, 0);
  b.writeUInt32BE(1, 8);
  b.writeUInt32BE(f.transactionId, 12);
  f.infoHash.copy(b, 16);
  (f.peerId ?? randomBytes(20)).copy(b, 36);
  b.writeBigInt64BE(f.downloaded ?? 0n, 56);
  b.writeBigInt64BE(f.left ?? 1000n, 64);
  b.writeBigInt64BE(f.uploaded ?? 0n, 72);
  b.writeUInt32BE(f.event ?? 0, 80);
  b.writeUInt32BE(f.ip ?? 0, 84);
  b.writeUInt32BE(f.key ?? 0, 88);
  b.writeInt32BE(f.numwant ?? -1, 92);
  b.writeUInt16BE(f.port, 96);
  return f.options ? Buffer.concat([b, f.options]) : b;
}

export function scrapePacket(connectionId: Buffer, transactionId: number, hashes: Buffer[]): Buffer {
  const head = Buffer.alloc(16);
  connectionId.copy(head, 0);
  head.writeUInt32BE(2, 8);
  head.writeUInt32BE(transactionId, 12);
  return Buffer.concat([head, ...hashes]);
}

/** BEP 41 URL data options for `url`, in parts of at most 255 bytes, then EndOfOptions. */
export function urlDataOptions(url: string): Buffer {
  const bytes = Buffer.from(url, 'latin1');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([2, chunk.length]), chunk);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export interface AnnounceAnswer {
  interval: number;
  leechers: number;
  seeders: number;
  /** Compact peers, as `ip:port` (IPv6 in brackets). */
  peers: string[];
}

/** @param peerSize 6 (IPv4 socket) or 18 (IPv6) */
export function readAnnounceAnswer(b: Buffer, peerSize: 6 | 18): AnnounceAnswer {
  if (b.readUInt32BE(0) !== 1) throw new Error(`not an announce answer: action ${b.readUInt32BE(0)} ${errorText(b)}`);
  if ((b.length - 20) % peerSize !== 0) throw new Error(`answer of ${b.length} bytes is not 20 + ${peerSize} x n`);
  const peers: string[] = [];
  for (let at = 20; at < b.length; at += peerSize) {
    const port = b.readUInt16BE(at + peerSize - 2);
    if (peerSize === 6) peers.push(`${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}:${port}`);
    else {
      const groups: string[] = [];
      for (let g = 0; g < 8; g++) groups.push(b.readUInt16BE(at + g * 2).toString(16));
      peers.push(`[${groups.join(':')}]:${port}`);
    }
  }
  return { interval: b.readInt32BE(8), leechers: b.readInt32BE(12), seeders: b.readInt32BE(16), peers };
}

export function errorText(b: Buffer): string {
  return b.length >= 8 && b.readUInt32BE(0) === 3 ? b.subarray(8).toString('utf8') : '';
}

/** A client socket bound to `localAddress`, asking one tracker. */
export class UdpProbe {
  readonly socket: dgram.Socket;
  private readonly inbox: Buffer[] = [];
  private wake: (() => void) | null = null;
  private nextTid = 1;

  private constructor(
    socket: dgram.Socket,
    readonly trackerHost: string,
    readonly trackerPort: number,
  ) {
    this.socket = socket;
    socket.on('message', (m) => {
      this.inbox.push(m);
      this.wake?.();
    });
  }

  static async open(trackerHost: string, trackerPort: number, localAddress = net.isIPv6(trackerHost) ? '::1' : '127.0.0.1'): Promise<UdpProbe> {
    const s = dgram.createSocket(net.isIPv6(localAddress) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, localAddress, () => resolve());
    });
    return new UdpProbe(s, trackerHost, trackerPort);
  }

  get port(): number {
    return this.socket.address().port;
  }

  tid(): number {
    return (this.nextTid++ * 2654435761) >>> 0;
  }

  send(b: Buffer): void {
    this.socket.send(b, this.trackerPort, this.trackerHost);
  }

  /** The next datagram whose transaction id is `tid` (earlier strays are dropped), or null after `ms`. */
  async receive(tid: number | null, ms = 2000): Promise<Buffer | null> {
    const end = Date.now() + ms;
    for (;;) {
      while (this.inbox.length) {
        const m = this.inbox.shift()!;
        if (tid === null || (m.length >= 8 && m.readUInt32BE(4) === tid)) return m;
      }
      const left = end - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Send `b` (whose transaction id is read from bytes 12..16) and wait for its answer. */
  async ask(b: Buffer, ms = 2000): Promise<Buffer | null> {
    this.send(b);
    return this.receive(b.length >= 16 ? b.readUInt32BE(12) : null, ms);
  }

  async connect(): Promise<Buffer> {
    const tid = this.tid();
    const a = await this.ask(connectPacket(tid));
    if (!a || a.length !== 16 || a.readUInt32BE(0) !== 0 || a.readUInt32BE(4) !== tid) throw new Error(`bad connect answer ${a?.toString('hex')}`);
    return a.subarray(8, 16);
  }

  close(): void {
    this.socket.close();
  }
}
