/**
 * Raw HTTP/1.1 over TCP against our tracker: a connection that sends exact bytes and reads answers
 * one by one, announce targets, and readers of the answers (for the fast path's byte-level tests).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createTrackerServer, type TrackerServer } from '../../src/tracker/http/server.ts';
import { MemorySwarmStore } from '../../src/tracker/store/memory-store.ts';
import { trackerConfig } from '../../src/tracker/service.ts';
import { decode, isBytes, isDict, isInt, type BDict } from '../../src/metainfo/bencode.ts';

// ---------------------------------------------------------------------------------------------
// helpers

/** The server's head deadline (applyServerTimeouts: headersTimeout). */
export const HEAD_DEADLINE_MS = 15_000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Running {
  tracker: TrackerServer;
  store: MemorySwarmStore;
  port: number;
}

export async function startTracker(extra: Parameters<typeof trackerConfig>[1] = {}): Promise<Running> {
  const config = trackerConfig(60, extra);
  const store = new MemorySwarmStore(120_000);
  const tracker = createTrackerServer(store, config);
  await new Promise<void>((resolve, reject) => {
    tracker.server.once('error', reject);
    tracker.server.listen(0, '127.0.0.1', () => {
      tracker.server.off('error', reject);
      resolve();
    });
  });
  return { tracker, store, port: (tracker.server.address() as AddressInfo).port };
}

/** stop(), but never longer than `ms` (a stop that hangs must not hang the file). */
export async function stopWithin(t: Running, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([t.tracker.stop().then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return done;
}

export interface Reply {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/** Every connection a test opened, destroyed at the end whatever happened. */
export const openConns = new Set<Conn>();

/** A raw client socket: bytes out exactly as given, HTTP/1.1 answers parsed off the byte stream. */
export class Conn {
  readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  closed = false;
  readonly closedAt: Promise<number>;
  private wake: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    openConns.add(this);
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.notify();
    });
    socket.on('error', () => {});
    this.closedAt = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        openConns.delete(this);
        this.notify();
        resolve(Date.now());
      }),
    );
  }

  static open(port: number, opts: { paused?: boolean } = {}): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      const c = new Conn(socket);
      if (opts.paused) socket.pause();
      socket.once('connect', () => resolve(c));
      socket.once('error', reject);
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  private changed(): Promise<void> {
    return new Promise((r) => this.wake.push(r));
  }

  send(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Bytes received and not yet taken by `reply()`. */
  rest(): Buffer {
    return this.buf;
  }

  /** Try to take one complete answer off the front of the buffer. */
  private take(): Reply | null {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const lines = this.buf.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    assert.ok(m, `not an HTTP status line: ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      const k = l.slice(0, c).trim().toLowerCase();
      const v = l.slice(c + 1).trim();
      headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
    }
    const start = end + 4;
    let bodyEnd: number;
    let body: Buffer;
    if (headers['content-length'] !== undefined) {
      bodyEnd = start + Number(headers['content-length']);
      if (this.buf.length < bodyEnd) return null;
      body = this.buf.subarray(start, bodyEnd);
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let at = start;
      for (;;) {
        const le = this.buf.indexOf('\r\n', at);
        if (le < 0) return null;
        const size = parseInt(this.buf.toString('latin1', at, le), 16);
        if (this.buf.length < le + 2 + size + 2) return null;
        parts.push(this.buf.subarray(le + 2, le + 2 + size));
        at = le + 2 + size + 2;
        if (size === 0) break;
      }
      bodyEnd = at;
      body = Buffer.concat(parts);
    } else {
      // No framing: the body runs to the end of the connection.
      if (!this.closed) return null;
      bodyEnd = this.buf.length;
      body = this.buf.subarray(start);
    }
    this.buf = this.buf.subarray(bodyEnd);
    return { status: Number(m[1]), headers, body: Buffer.from(body) };
  }

  /** The next complete answer (rejects if none within `ms` or the connection closes first). */
  async reply(ms = 2000): Promise<Reply> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = this.take();
      if (r) return r;
      if (this.closed) throw new Error(`connection closed before a complete answer; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete answer within ${ms} ms; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.changed(), new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
  }

  /** True when the server closed the connection within `ms`. */
  async closesWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.closedAt.then(() => true), new Promise<false>((res) => (timer = setTimeout(() => res(false), ms)))]);
    clearTimeout(timer);
    return r;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function destroyAll(): void {
  for (const c of openConns) c.destroy();
}

export const pct = (b: Buffer) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0').toUpperCase()).join('');

export function peerId(tag: string): Buffer {
  const id = Buffer.alloc(20, 0x41);
  Buffer.from([0x00, 0x25, 0xff]).copy(id, 0);
  Buffer.from(tag.padEnd(17, '_').slice(0, 17), 'latin1').copy(id, 3);
  return id;
}

export interface AnnounceOpts {
  infoHash: Buffer;
  port: number;
  peerId?: Buffer;
  left?: number;
  compact?: 0 | 1;
  numwant?: number;
}

export function announceTarget(o: AnnounceOpts): string {
  let q = `info_hash=${pct(o.infoHash)}&peer_id=${pct(o.peerId ?? peerId(`p${o.port}`))}&port=${o.port}&uploaded=0&downloaded=0&left=${o.left ?? 0}`;
  q += `&compact=${o.compact ?? 1}`;
  if (o.numwant !== undefined) q += `&numwant=${o.numwant}`;
  return `/announce?${q}`;
}

/** A plain HTTP/1.1 request head for `target`, with optional extra header lines. */
export function get(target: string, extra: string[] = []): string {
  return `GET ${target} HTTP/1.1\r\nHost: tracker.test\r\n${extra.map((h) => h + '\r\n').join('')}\r\n`;
}

export function asDict(body: Buffer): BDict {
  const v = decode(body);
  assert.ok(isDict(v), `expected a bencoded dict, got ${body.toString('latin1')}`);
  return v;
}

/** A decoded successful announce answer. */
export function announceAnswer(r: Reply): BDict {
  assert.equal(r.status, 200, `status, body ${r.body.toString('latin1')}`);
  const d = asDict(r.body);
  assert.equal(d['failure reason'], undefined, `unexpected failure: ${String(d['failure reason'])}`);
  assert.ok(isInt(d['interval']), `interval is an integer: ${JSON.stringify(d)}`);
  return d;
}

export function compactPorts(d: BDict): number[] {
  const p = d['peers'];
  assert.ok(isBytes(p), 'compact `peers` is a byte string');
  assert.equal(p.length % 6, 0);
  const out: number[] = [];
  for (let i = 0; i < p.length; i += 6) {
    assert.deepEqual([...p.subarray(i, i + 4)], [127, 0, 0, 1]);
    out.push(p.readUInt16BE(i + 4));
  }
  return out.sort((a, b) => a - b);
}

export interface PeersJson {
  info_hash: string;
  peers: Array<{ ip: string; port: number; peer_id: string; seeder: boolean }>;
}

export function peersJson(r: Reply): PeersJson {
  assert.equal(r.status, 200, `/peers status, body ${r.body.toString()}`);
  assert.match(r.headers['content-type'] ?? '', /application\/json/);
  return JSON.parse(r.body.toString('utf8')) as PeersJson;
}

/** GET /peers for `infoHash` on a fresh connection. */
export async function listPeers(port: number, infoHash: Buffer): Promise<PeersJson> {
  const c = await Conn.open(port);
  try {
    c.send(get(`/peers?info_hash=${infoHash.toString('hex')}`, ['Connection: close']));
    return peersJson(await c.reply());
  } finally {
    c.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// 1. parseSimpleRequest and mayBeSimple (pure)

export const Q = 'info_hash=%AA%BB&peer_id=-XX0001-abcdefghijkl&port=6881&left=0';
