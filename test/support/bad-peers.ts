/**
 * Test support for the swarm, resume, fault and multi-file tests.
 *
 * 1. In-test peers written with node:http that implement our peer API for one torrent
 *    (`GET /bitfield/<hash>` -> every bit set; `GET /piece/<hash>/<i>` with `Range: bytes=a-b` ->
 *    206 with those bytes), reading the real bytes of the torrent's byte stream from disk, in
 *    one of three modes:
 *      honest   serve the real bytes;
 *      corrupt  flip one byte in every block it serves (so every piece it supplies fails SHA-1);
 *      stall    accept the request, then send only the headers (or nothing) and never a body.
 *    A peer can register itself with a tracker (announce `started`, left=0, then re-announce).
 * 2. A `Scope` that owns the processes, servers and temp folders of one test, so that `finally`
 *    can SIGKILL and remove everything; the small helpers around it (spawn a seeder / requester
 *    on free ports, /stats, tracker /peers, streaming SHA-1, a folder tree listing) live in
 *    swarm-helpers.ts and are re-exported here.
 */
import { randomBytes } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { announce } from '../../src/tracker-client/http-announce.ts';
import type { TrackerReply } from '../../src/tracker-client/reply.ts';
import { runCli, tempDir, type Proc } from './procs.ts';

// ------------------------------------------------------------------------------ in-test peers

export type BadPeerMode = 'honest' | 'corrupt' | 'stall';

/** One file of the torrent's byte stream: a path on disk, or `null` for zeros (a BEP 47 pad file). */
export interface StreamPart {
  path: string | null;
  length: number;
}

export interface BadPeerOptions {
  infoHashHex: string;
  pieceLength: number;
  /** The torrent's byte stream, in order (a single-file torrent: one part). */
  parts: StreamPart[];
  mode: BadPeerMode;
}

export interface PieceRequest {
  piece: number;
  range: string | undefined;
  at: number;
}

export interface BadPeer {
  readonly port: number;
  readonly label: string;
  /** Every GET /piece request received, in order. */
  readonly pieceRequests: PieceRequest[];
  /** How many GET /bitfield requests were received. */
  bitfieldRequests(): number;
  /**
   * Announce to `announceUrl` as a complete peer (event=started, left=0) and keep re-announcing
   * every `everyMs` until closed, so that a short tracker interval does not expire it.
   */
  register(announceUrl: string, infoHash: Buffer, everyMs?: number): Promise<TrackerReply>;
  close(): Promise<void>;
}

/** A 20-byte peer_id for a test peer. */
export function testPeerId(): Buffer {
  return Buffer.concat([Buffer.from('-TP0001-'), randomBytes(12)]);
}

export async function startBadPeer(opts: BadPeerOptions): Promise<BadPeer> {
  const total = opts.parts.reduce((s, p) => s + p.length, 0);
  const pieceCount = Math.ceil(total / opts.pieceLength);
  const handles: Array<FileHandle | null> = [];
  for (const p of opts.parts) handles.push(p.path === null ? null : await open(p.path, 'r'));

  /** Read [offset, offset + length) of the byte stream. */
  async function read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    let partStart = 0;
    for (const [i, p] of opts.parts.entries()) {
      const partEnd = partStart + p.length;
      const from = Math.max(offset, partStart);
      const to = Math.min(offset + length, partEnd);
      const h = handles[i];
      if (from < to && h) {
        let done = 0;
        while (done < to - from) {
          const { bytesRead } = await h.read(out, from - offset + done, to - from - done, from - partStart + done);
          if (bytesRead === 0) throw new Error(`short read in ${p.path}`);
          done += bytesRead;
        }
      }
      partStart = partEnd;
    }
    return out;
  }

  const bits = Buffer.alloc(Math.ceil(pieceCount / 8));
  for (let i = 0; i < pieceCount; i++) bits[i >> 3]! |= 0x80 >> (i & 7);

  const pieceRequests: PieceRequest[] = [];
  let bitfields = 0;
  const stalled = new Set<http.ServerResponse>();
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '';
      let m = /^\/bitfield\/([0-9a-fA-F]{40})$/.exec(url);
      if (m) {
        bitfields++;
        if (m[1]!.toLowerCase() !== opts.infoHashHex) return void res.writeHead(404).end();
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bits.length }).end(bits);
        return;
      }
      m = /^\/piece\/([0-9a-fA-F]{40})\/(\d+)$/.exec(url);
      if (!m) return void res.writeHead(404).end();
      const piece = Number(m[2]);
      pieceRequests.push({ piece, range: req.headers.range, at: Date.now() });
      if (m[1]!.toLowerCase() !== opts.infoHashHex || piece >= pieceCount) return void res.writeHead(404).end();
      const size = Math.min(opts.pieceLength, total - piece * opts.pieceLength);
      let start = 0;
      let end = size - 1;
      const r = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (r) {
        start = Number(r[1]);
        end = Math.min(Number(r[2]), size - 1);
        if (start > end) return void res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      }
      const length = end - start + 1;
      if (opts.mode === 'stall') {
        stalled.add(res);
        res.on('close', () => stalled.delete(res));
        // Every other request gets its headers and then silence; the rest get nothing at all.
        if (pieceRequests.length % 2 === 1) {
          res.writeHead(206, { 'Content-Length': length, 'Content-Range': `bytes ${start}-${end}/${size}` });
          res.flushHeaders();
        }
        return;
      }
      const body = await read(piece * opts.pieceLength + start, length);
      if (opts.mode === 'corrupt') body[0]! ^= 0xff;
      res.writeHead(r ? 206 : 200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': length,
        ...(r ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
      });
      res.end(body);
    })().catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
      else res.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  let reannounce: NodeJS.Timeout | undefined;
  const peerId = testPeerId();
  let closed = false;

  return {
    port,
    label: `127.0.0.1:${port}`,
    pieceRequests,
    bitfieldRequests: () => bitfields,
    async register(announceUrl, infoHash, everyMs = 1000) {
      const params = { infoHash, peerId, port, uploaded: 0, downloaded: 0, left: 0, numwant: 0 };
      const reply = await announce(announceUrl, { ...params, event: 'started' });
      clearInterval(reannounce);
      reannounce = setInterval(() => {
        if (!closed) announce(announceUrl, { ...params, event: 'none' }, 2000).catch(() => {});
      }, everyMs);
      reannounce.unref();
      return reply;
    },
    async close() {
      closed = true;
      clearInterval(reannounce);
      for (const res of stalled) res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(handles.map((h) => h?.close()));
    },
  };
}

// ------------------------------------------------------------------------------ test scope

/** Everything one test started: SIGKILLed, closed and removed by `dispose()` (call it in finally). */
export class Scope {
  private readonly procs: Proc[] = [];
  private readonly cleanups: Array<() => Promise<void>> = [];

  /** Make `p` (e.g. a tracker from `startTracker`) this scope's to kill. */
  adopt<T extends Proc>(p: T): T {
    this.procs.push(p);
    return p;
  }

  spawn(entry: Parameters<typeof runCli>[0], args: string[], cwd: string, netns?: string): Proc {
    const p = runCli(entry, args, { cwd, netns });
    this.procs.push(p);
    return p;
  }

  async dir(prefix = 'p2p-swarm-'): Promise<string> {
    const d = await tempDir(prefix);
    this.cleanups.push(d.remove);
    return d.dir;
  }

  defer(f: () => Promise<void> | void): void {
    this.cleanups.push(async () => {
      await f();
    });
  }

  async badPeer(opts: BadPeerOptions): Promise<BadPeer> {
    const p = await startBadPeer(opts);
    this.defer(() => p.close());
    return p;
  }

  /** SIGKILL every process still running (and wait for it), then run the cleanups, newest first. */
  async dispose(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.exited));
    for (const c of this.cleanups.reverse()) await c().catch(() => {});
  }
}

export * from './swarm-helpers.ts';
