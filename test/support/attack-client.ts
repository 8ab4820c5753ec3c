/**
 * Test support for test/robustness/client-attacks.test.ts: hostile servers that our outgoing requests meet.
 *  - a tracker that answers some announces properly (with a fixed peer list) and trickles the
 *    answer to others one byte at a time;
 *  - a web seed that sends the asked range, then streams junk for as long as the connection lives.
 * Both count what they managed to write, and when each connection closed.
 */
import http from 'node:http';
import net from 'node:net';

/** Compact (BEP 23) form of IPv4 peers. */
export function compactPeers(peers: Array<{ ip: string; port: number }>): Buffer {
  const out = Buffer.alloc(peers.length * 6);
  peers.forEach((p, i) => {
    p.ip.split('.').forEach((b, j) => out.writeUInt8(Number(b), i * 6 + j));
    out.writeUInt16BE(p.port, i * 6 + 4);
  });
  return out;
}

export interface TrickleTracker {
  readonly announce: string;
  /** `event` of every announce received, in order ('none' for none). */
  readonly events: string[];
  close(): Promise<void>;
}

/**
 * A tracker that answers announces whose `event` is not in `trickle` at once (interval 1800,
 * the peers `peers(url)` gives for the announce URL), and the others with a 1000-byte Content-Length body sent one byte
 * every `byteEveryMs`: the inactivity timeout of a client never fires.
 */
export async function startTrickleTracker(opts: { trickle: string[]; byteEveryMs: number; peers: (url: string) => Array<{ ip: string; port: number }> }): Promise<TrickleTracker> {
  const events: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const event = /[?&]event=([a-z]+)/.exec(req.url ?? '')?.[1] ?? 'none';
    events.push(event);
    if (!opts.trickle.includes(event)) {
      const peers = compactPeers(opts.peers(req.url ?? ''));
      const body = Buffer.concat([Buffer.from(`d8:intervali1800e5:peers${peers.length}:`), peers, Buffer.from('e')]);
      res.writeHead(200, { 'Content-Length': body.length }).end(body);
      return;
    }
    res.writeHead(200, { 'Content-Length': 1000 });
    res.flushHeaders();
    const timer = setInterval(() => res.write('d'), opts.byteEveryMs);
    timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    announce: `http://127.0.0.1:${port}/announce`,
    events,
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** How the junk web seed frames its answer before the junk. */
export type JunkShape =
  /** 206 with the exact Content-Length: the junk follows on the kept-alive connection. */
  | 'exact-length'
  /** 206 with no Content-Length (the body ends when the connection closes). */
  | 'no-length'
  /** 206 whose Content-Range and Content-Length claim far more than was asked. */
  | 'longer-range'
  /** 200 with no length, as a server that ignores Range: the whole resource, then junk. */
  | 'ignores-range';

export interface JunkSeed {
  readonly url: string;
  /** Bytes written to every connection so far (headers, our bytes and junk). */
  written(): number;
  /** Connections accepted, and how many of them are closed. */
  connections(): number;
  closed(): number;
  close(): Promise<void>;
}

/**
 * A web seed for `data` that answers the first `Range: bytes=a-b` of each request with those
 * bytes in the framing of `shape`, then writes junk as fast as the connection takes it.
 */
export async function startJunkSeed(data: Buffer, shape: JunkShape): Promise<JunkSeed> {
  let written = 0;
  let connections = 0;
  let closed = 0;
  const sockets = new Set<net.Socket>();
  const junk = Buffer.alloc(64 * 1024, 'j');
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => {
      closed++;
      sockets.delete(s);
    });
    let head = '';
    s.on('data', (d: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const m = /\r\nrange: bytes=(\d+)-(\d+)\r\n/i.exec(head);
      const start = m ? Number(m[1]) : 0;
      const end = m ? Number(m[2]) : data.length - 1;
      const ours = shape === 'ignores-range' ? data : data.subarray(start, end + 1);
      const headers = {
        'exact-length': `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${end}/${data.length}\r\nContent-Length: ${ours.length}\r\n\r\n`,
        'no-length': `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${end}/${data.length}\r\nConnection: close\r\n\r\n`,
        'longer-range': `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-999999999999/1000000000000\r\nContent-Length: ${1e12 - start}\r\n\r\n`,
        'ignores-range': `HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n`,
      }[shape];
      const write = (b: Buffer | string) => {
        written += Buffer.byteLength(b);
        return s.write(b);
      };
      write(headers);
      write(ours);
      const pump = () => {
        while (!s.destroyed && write(junk));
      };
      s.on('drain', pump);
      setTimeout(pump, 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/data.bin`,
    written: () => written,
    connections: () => connections,
    closed: () => closed,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
