/**
 * Test support for the download-side attacks (issue #13 items 1 and 7): hostile peers that aim
 * at a downloading requester, all on loopback.
 *
 *   WireLiar          dials INTO the requester from its own loopback address with a fresh
 *                     peer_id each time, claims some pieces, unchokes, answers every request
 *                     with random bytes, and reconnects (new peer_id) whenever it is closed.
 *   startLyingHttp    HTTP servers (several ports, one address) that claim pieces and serve
 *                     random bytes; `hint` makes the requester use them through the
 *                     X-P2P-Listen-Port header that any HTTP client can send.
 *   startTrickler     an HTTP peer that claims pieces and answers a piece request with its
 *                     headers and then one byte now and then, never idle long enough for an
 *                     inactivity timeout; registered with a tracker like a real peer.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { decodeHandshake, encode, encodeHandshake, HANDSHAKE_LENGTH, MessageParser } from '../../src/peer/wire/messages.ts';
import { announce } from '../../src/tracker-client/http-announce.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A bitfield of `pieceCount` bits with `claim` set. */
function bitfield(pieceCount: number, claim: number[]): Buffer {
  const bits = Buffer.alloc(Math.ceil(pieceCount / 8));
  for (const i of claim) bits[i >> 3]! |= 0x80 >> (i & 7);
  return bits;
}

/** A peer_id that is not one of ours (so the requester treats it as a real client). */
function foreignPeerId(): Buffer {
  return Buffer.concat([Buffer.from('-XX0001-', 'latin1'), randomBytes(12)]);
}

export interface WireLiarOptions {
  /** The requester's address and port. */
  host: string;
  port: number;
  /** The loopback address the liar dials from (not the honest peers' one). */
  localAddress: string;
  infoHash: Buffer;
  pieceCount: number;
  claim: number[];
  /** Pause before reconnecting. */
  reconnectMs?: number;
}

export class WireLiar {
  /** Connections whose handshake was answered. */
  connections = 0;
  /** Blocks of random bytes sent. */
  badBlocks = 0;
  /** Connections closed by the requester before it asked for anything. */
  refused = 0;
  private stopped = false;
  private socket: net.Socket | undefined;
  private readonly loop: Promise<void>;

  constructor(private readonly o: WireLiarOptions) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.once().catch(() => {});
      await sleep(this.o.reconnectMs ?? 20);
    }
  }

  /** One connection, until the requester closes it. */
  private once(): Promise<void> {
    return new Promise((resolve) => {
      const s = net.connect({ host: this.o.host, port: this.o.port, localAddress: this.o.localAddress });
      this.socket = s;
      let pre = Buffer.alloc(0);
      let handshaken = false;
      let asked = false;
      const parser = new MessageParser({ maxMessage: 1 << 20 });
      s.on('connect', () => s.write(encodeHandshake(this.o.infoHash, foreignPeerId())));
      s.on('data', (chunk: Buffer) => {
        try {
          if (!handshaken) {
            pre = Buffer.concat([pre, chunk]);
            if (pre.length < HANDSHAKE_LENGTH) return;
            decodeHandshake(pre);
            handshaken = true;
            this.connections++;
            chunk = pre.subarray(HANDSHAKE_LENGTH);
            s.write(Buffer.concat([encode({ type: 'bitfield', bits: bitfield(this.o.pieceCount, this.o.claim) }), encode({ type: 'unchoke' })]));
          }
          for (const m of parser.push(chunk)) {
            if (m.type !== 'request') continue;
            asked = true;
            this.badBlocks++;
            s.write(encode({ type: 'piece', index: m.index, begin: m.begin, block: randomBytes(m.length) }));
          }
        } catch {
          s.destroy();
        }
      });
      s.on('error', () => {});
      s.on('close', () => {
        if (handshaken && !asked) this.refused++;
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.socket?.destroy();
    await this.loop;
  }
}

/** Listen on `host` (port 0) with `handler`; resolves with the server and its port. */
async function listenOn(host: string, handler: http.RequestListener): Promise<{ server: http.Server; port: number; sockets: Set<net.Socket> }> {
  const server = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

async function closeAll(servers: Array<{ server: http.Server; sockets: Set<net.Socket> }>): Promise<void> {
  for (const { server, sockets } of servers) {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The length asked by `Range: bytes=a-b`, or the piece's size. */
function rangeOf(req: http.IncomingMessage, size: number): { start: number; end: number } {
  const r = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  return r ? { start: Number(r[1]), end: Math.min(Number(r[2]), size - 1) } : { start: 0, end: size - 1 };
}

export interface PeerApiClaim {
  infoHashHex: string;
  pieceCount: number;
  pieceLength: number;
  /** Pieces it claims to hold. */
  claim: number[];
}

export interface LyingHttp {
  host: string;
  ports: number[];
  /** GET /piece requests answered with random bytes. */
  pieceRequests(): number;
  /** Tell the requester at `port` (from our own address) to use our port number `which`. */
  hint(requesterPort: number, which: number): Promise<number>;
  close(): Promise<void>;
}

/** `count` lying HTTP peers on `host` (one per port). */
export async function startLyingHttp(host: string, count: number, o: PeerApiClaim): Promise<LyingHttp> {
  let pieces = 0;
  const bits = bitfield(o.pieceCount, o.claim);
  const handler: http.RequestListener = (req, res) => {
    const url = req.url ?? '';
    if (url === `/bitfield/${o.infoHashHex}`) return void res.writeHead(200, { 'Content-Length': bits.length }).end(bits);
    const m = /^\/piece\/[0-9a-f]{40}\/(\d+)$/.exec(url);
    if (!m) return void res.writeHead(404).end();
    const { start, end } = rangeOf(req, o.pieceLength);
    pieces++;
    res.writeHead(206, { 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${o.pieceLength}` }).end(randomBytes(end - start + 1));
  };
  const servers: Array<Awaited<ReturnType<typeof listenOn>>> = [];
  for (let i = 0; i < count; i++) servers.push(await listenOn(host, handler));
  return {
    host,
    ports: servers.map((s) => s.port),
    pieceRequests: () => pieces,
    hint(requesterPort, which) {
      return new Promise((resolve, reject) => {
        const req = http.get(
          {
            host: '127.0.0.1',
            port: requesterPort,
            localAddress: host,
            path: `/bitfield/${o.infoHashHex}`,
            agent: false,
            headers: { 'X-P2P-Listen-Port': String(servers[which]!.port) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
      });
    },
    close: () => closeAll(servers),
  };
}

export interface Trickler {
  port: number;
  /** Piece requests received (each answered one byte at a time). */
  pieceRequests(): number;
  /** Announce to the tracker as a complete peer, and again every second. */
  register(announceUrl: string, infoHash: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** An HTTP peer that answers piece requests with one byte every `everyMs`, never finishing. */
export async function startTrickler(o: PeerApiClaim & { everyMs: number }): Promise<Trickler> {
  let pieces = 0;
  const timers = new Set<NodeJS.Timeout>();
  const bits = bitfield(o.pieceCount, o.claim);
  const listening = await listenOn('127.0.0.1', (req, res) => {
    const url = req.url ?? '';
    if (url === `/bitfield/${o.infoHashHex}`) return void res.writeHead(200, { 'Content-Length': bits.length }).end(bits);
    if (!/^\/piece\/[0-9a-f]{40}\/\d+$/.exec(url)) return void res.writeHead(404).end();
    pieces++;
    const { start, end } = rangeOf(req, o.pieceLength);
    res.writeHead(206, { 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${o.pieceLength}` });
    res.flushHeaders();
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < end - start) { // never the last byte
        res.write(randomBytes(1));
        sent++;
      }
    }, o.everyMs);
    timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  });
  let reannounce: NodeJS.Timeout | undefined;
  const peerId = foreignPeerId();
  return {
    port: listening.port,
    pieceRequests: () => pieces,
    async register(announceUrl, infoHash) {
      const params = { infoHash, peerId, port: listening.port, uploaded: 0, downloaded: 0, left: 0, numwant: 0 };
      await announce(announceUrl, { ...params, event: 'started' });
      reannounce = setInterval(() => void announce(announceUrl, { ...params, event: 'none' }, 2000).catch(() => {}), 1000);
      reannounce.unref();
    },
    async close() {
      clearInterval(reannounce);
      for (const t of timers) clearInterval(t);
      await closeAll([listening]);
    },
  };
}
