/**
 * Attacks on the tracker, for test/tracker-attacks.test.ts: announces built byte by byte, a
 * pipelining flooder on raw sockets from a chosen local address, and small HTTP helpers.
 */
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const pct = (b: Buffer) => b.toString('hex').replace(/../g, '%$&');

export interface AnnounceSpec {
  infoHash: Buffer;
  port: number;
  peerId?: Buffer;
  left?: number;
  numwant?: number;
}

export function announceTarget(a: AnnounceSpec): string {
  return `/announce?info_hash=${pct(a.infoHash)}&peer_id=${pct(a.peerId ?? randomBytes(20))}&port=${a.port}&uploaded=0&downloaded=0&left=${a.left ?? 1}&compact=1&numwant=${a.numwant ?? 50}`;
}

export interface Reply {
  status: number;
  body: Buffer;
  ms: number;
}

/** One GET on a fresh connection from `localAddress`, timed. */
export function httpGet(port: number, target: string, localAddress = '127.0.0.1', timeoutMs = 5000): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, agent: false, localAddress, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${target.slice(0, 40)}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Bodies of the answers to requests pipelined on one socket: `onAnswer` per answer, in order. */
class AnswerReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onAnswer: (body: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /content-length: *(\d+)/i.exec(this.buf.toString('latin1', 0, end));
      if (!m) throw new Error(`an answer without Content-Length: ${this.buf.toString('latin1', 0, end)}`);
      const total = end + 4 + Number(m[1]);
      if (this.buf.length < total) return;
      this.onAnswer(this.buf.subarray(end + 4, total));
      this.buf = this.buf.subarray(total);
    }
  }
}

export interface FloodResult {
  sent: number;
  /** Answers that were not a `failure reason`. */
  accepted: number;
  refused: number;
  warned: number;
}

/**
 * From `localAddress`, on `connections` keep-alive sockets, announces in pipelined batches of
 * `batch` as fast as the tracker answers, until `ms` have passed: `make(i)` gives the i-th target.
 */
export async function flood(port: number, localAddress: string, ms: number, connections: number, make: (i: number) => string, batch = 64): Promise<FloodResult> {
  const result: FloodResult = { sent: 0, accepted: 0, refused: 0, warned: 0 };
  const deadline = Date.now() + ms;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress });
      let waiting = 0;
      const sendBatch = () => {
        if (Date.now() >= deadline) {
          socket.end();
          resolve();
          return;
        }
        let text = '';
        for (let k = 0; k < batch; k++) text += `GET ${make(result.sent++)} HTTP/1.1\r\nHost: t\r\n\r\n`;
        waiting = batch;
        socket.write(text);
      };
      const reader = new AnswerReader((body) => {
        const s = body.toString('latin1');
        if (s.includes('failure reason')) result.refused++;
        else result.accepted++;
        if (s.includes('warning message')) result.warned++;
        if (--waiting === 0) sendBatch();
      });
      socket.on('connect', sendBatch);
      socket.on('data', (c: Buffer) => reader.push(c));
      socket.on('error', reject);
    });
  await Promise.all(Array.from({ length: connections }, one));
  return result;
}

/** A program's resident memory, from /proc (MiB). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) / 1024 : NaN;
}
