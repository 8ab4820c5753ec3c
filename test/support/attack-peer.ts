/**
 * Test support for attacks on a peer's serving side: raw HTTP clients that pipeline and vanish
 * or never read, wire clients from chosen loopback addresses, and the process's memory and
 * sockets read from /proc.
 */
import net from 'node:net';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH } from '../../src/peer/wire/messages.ts';
import { clientPeerId } from './wire-peer.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resident memory of a process in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Open sockets of a process (its fds that are sockets: listening ones included). */
export function socketCount(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

/** Connect from a chosen local address (127.0.0.x: every one is ours on Linux). */
export function connectFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** GET requests in HTTP/1.1 form, pipelined in one string. */
export function getRequests(path: string, count: number, headers = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: seeder\r\n${headers}\r\n`.repeat(count);
}

/**
 * The abandoned pipeline: `count` GETs in one write on one connection, read for `holdMs`, then
 * the connection is dropped. Resolves with the bytes it had received.
 */
export async function abandonPipeline(port: number, path: string, count: number, holdMs: number): Promise<number> {
  const s = await connectFrom(port, '127.0.0.1');
  let got = 0;
  s.on('data', (c: Buffer) => (got += c.length));
  s.on('error', () => {});
  s.write(getRequests(path, count));
  await sleep(holdMs);
  s.destroy();
  return got;
}

/** A client that sends one GET and never reads: how it ended, seen once it finally reads. */
export interface Stalled {
  socket: net.Socket;
  /** Set when the connection has ended (after `drain()`), with the bytes received. */
  ended?: { bytes: number };
  /** Start reading: whatever the server left in the kernel arrives, then the end if it closed. */
  drain(): void;
}

export async function stalledClient(port: number, localAddress: string, path: string): Promise<Stalled> {
  const socket = await connectFrom(port, localAddress);
  socket.pause();
  socket.on('error', () => {});
  socket.write(getRequests(path, 1));
  const c: Stalled = {
    socket,
    drain() {
      let bytes = 0;
      socket.on('data', (b: Buffer) => (bytes += b.length));
      socket.once('close', () => (c.ended = { bytes }));
      socket.resume();
    },
  };
  return c;
}

/**
 * A wire client from `localAddress`: resolves true if our handshake is answered by a BitTorrent
 * handshake for `infoHash`; false if the connection is dropped or answered otherwise (a refused
 * connection gets the seeder's 503, longer than a handshake, which must not count).
 */
export async function wireHandshake(port: number, localAddress: string, infoHash: Buffer, timeoutMs = 3000): Promise<{ answered: boolean; socket: net.Socket }> {
  const socket = await connectFrom(port, localAddress);
  socket.on('error', () => {});
  socket.write(encodeHandshake(infoHash, clientPeerId()));
  const answered = await new Promise<boolean>((resolve) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.on('data', (b: Buffer) => {
      got = Buffer.concat([got, b]);
      if (got.length >= HANDSHAKE_LENGTH) {
        clearTimeout(timer);
        resolve(isHandshakeFor(got, infoHash));
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  return { answered, socket };
}

function isHandshakeFor(b: Buffer, infoHash: Buffer): boolean {
  try {
    return decodeHandshake(b).infoHash.equals(infoHash);
  } catch {
    return false;
  }
}

/** Time an HTTP GET over a fresh connection: status and milliseconds until the whole answer. */
export function timedGet(port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<{ status: number; bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = net.connect(port, '127.0.0.1');
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    s.on('connect', () => s.write(`GET ${path} HTTP/1.1\r\nHost: seeder\r\nConnection: close\r\n${extra}\r\n`));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`GET ${path}: no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const head = all.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(all.toString('latin1', 0, 20))?.[1] ?? 0);
      resolve({ status, bytes: head < 0 ? 0 : all.length - head - 4, ms: performance.now() - t0 });
    });
  });
}
