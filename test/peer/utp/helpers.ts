/** Shared by the uTP tests: endpoints on loopback, a lossy reordering UDP proxy, a hashed transfer. */
import dgram from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { UtpEndpoint, type UtpEndpointOptions } from '../../../src/peer/utp/endpoint.ts';
import type { UtpSocket } from '../../../src/peer/utp/utp-socket.ts';

export async function endpoints(opts: UtpEndpointOptions = {}): Promise<{ a: UtpEndpoint; b: UtpEndpoint; close(): Promise<void> }> {
  const a = await UtpEndpoint.bind(0, '127.0.0.1', opts);
  const b = await UtpEndpoint.bind(0, '127.0.0.1', opts);
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

/** Dial b from a; resolves with both ends. */
export async function connected(a: UtpEndpoint, b: UtpEndpoint, port = b.address().port): Promise<{ client: UtpSocket; server: UtpSocket }> {
  const accepted = once(b, 'connection') as Promise<[UtpSocket]>;
  const client = await a.connect('127.0.0.1', port, { timeoutMs: 5000 });
  const [server] = await accepted;
  return { client, server };
}

/** Write `data` in 16 KiB chunks honouring backpressure, then end (unless told not to). */
export async function writeAll(s: Duplex, data: Buffer, end = true): Promise<void> {
  for (let off = 0; off < data.length; off += 16 * 1024) {
    if (!s.write(data.subarray(off, off + 16 * 1024))) await once(s, 'drain');
  }
  if (end) s.end();
}

/**
 * Both ways at once. Like TCP without allowHalfOpen, a uTP socket ends its writing side when
 * the peer's FIN arrives, so the client ends only once both sides have written everything.
 */
export async function exchange(client: Duplex, server: Duplex, up: Buffer, down: Buffer) {
  const reads = Promise.all([readAll(server), readAll(client)]);
  await Promise.all([writeAll(client, up, false), writeAll(server, down, false)]);
  client.end();
  const [atServer, atClient] = await reads;
  return { atServer, atClient };
}

/** Read to 'end'; resolves with the byte count and the SHA-1 of what came. */
export function readAll(s: Duplex): Promise<{ bytes: number; sha1: string }> {
  const h = createHash('sha1');
  let bytes = 0;
  s.on('data', (d: Buffer) => {
    h.update(d);
    bytes += d.length;
  });
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve({ bytes, sha1: h.digest('hex') }));
    s.once('error', reject);
  });
}

export const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
export const randomData = (n: number) => randomBytes(n);

export interface Proxy {
  port: number;
  stats: { forwarded: number; dropped: number; reordered: number };
  close(): Promise<void>;
}

/**
 * A UDP proxy in front of `targetPort` for one client: drops `loss` of the datagrams each way
 * and holds back `reorder` of them until the next one has gone or 5 ms passed (so they arrive
 * out of order).
 */
export async function lossyProxy(targetPort: number, loss: number, reorder: number): Promise<Proxy> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const stats = { forwarded: 0, dropped: 0, reordered: 0 };
  let client: { port: number } | null = null;
  const held: { toClient: Buffer | null; toTarget: Buffer | null } = { toClient: null, toTarget: null };
  sock.on('message', (msg, rinfo) => {
    const toTarget = rinfo.port !== targetPort;
    if (toTarget) client = { port: rinfo.port };
    if (client === null) return;
    const dest = toTarget ? targetPort : client.port;
    const slot = toTarget ? 'toTarget' : 'toClient';
    if (Math.random() < loss) return void stats.dropped++;
    if (held[slot] === null && Math.random() < reorder) {
      held[slot] = msg;
      stats.reordered++;
      // Late, not lost: out by the next datagram or within a few milliseconds.
      setTimeout(() => {
        if (held[slot] !== msg) return;
        held[slot] = null;
        sock.send(msg, dest, '127.0.0.1');
      }, 5);
      return;
    }
    sock.send(msg, dest, '127.0.0.1');
    stats.forwarded++;
    const late = held[slot];
    if (late !== null) {
      held[slot] = null;
      sock.send(late, dest, '127.0.0.1');
    }
  });
  return { port: sock.address().port, stats, close: () => new Promise((r) => sock.close(() => r())) };
}
