/**
 * HttpPeerSource against a scripted peer: its bitfield and its pieces share one pool of
 * connections, and the bitfield keeps the PieceClient's guards (exact length, unasked bytes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { HttpPeerSource } from '../../../src/download/sources/http-source.ts';
import { LISTEN_PORT_HEADER } from '../../../src/peer/http-api.ts';

const HASH = 'ab'.repeat(20);
const PIECES = 10; // a bitfield of 2 bytes

/** A TCP server answering each request (head text) with what `answer` returns; counts connections. */
async function peer(answer: (req: string, n: number, socket: net.Socket) => Buffer | string | undefined) {
  let conns = 0;
  const requests: string[] = [];
  const srv = net.createServer((s) => {
    conns++;
    let buf = '';
    s.on('error', () => {});
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n\r\n'); i >= 0; i = buf.indexOf('\r\n\r\n')) {
        const req = buf.slice(0, i);
        buf = buf.slice(i + 4);
        requests.push(req);
        const out = answer(req, requests.length - 1, s);
        if (out !== undefined) s.write(out);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  return { port, requests, conns: () => conns, close: () => srv.close() };
}

const answer = (status: string, body: Buffer) => Buffer.concat([Buffer.from(`HTTP/1.1 ${status}\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
const BITFIELD = Buffer.from([0b1010_0000, 0b0100_0000]); // pieces 0, 2 and 9
const source = (port: number) => new HttpPeerSource('127.0.0.1', port, HASH, PIECES, { timeoutMs: 2000, refreshMs: 60_000, listenPort: 7777 });

test('bitfield and pieces go through one connection to the peer', async () => {
  const p = await peer((req) => (req.startsWith(`GET /bitfield/${HASH} `) ? answer('200 OK', BITFIELD) : answer('206 Partial Content', Buffer.alloc(100, 5))));
  const s = source(p.port);
  try {
    await s.connect(AbortSignal.timeout(5000));
    assert.deepEqual([0, 1, 2, 9].map((i) => s.has(i)), [true, false, true, true]);
    assert.match(p.requests[0]!, new RegExp(`\r\n${LISTEN_PORT_HEADER}: 7777(\r\n|$)`, 'i'), 'the bitfield request tells our listen port');
    const into = Buffer.alloc(100);
    await s.fetchBlockInto(2, 0, into, AbortSignal.timeout(5000));
    assert.ok(into.every((b) => b === 5), 'the block holds the piece bytes (5)');
    assert.match(p.requests[1]!, new RegExp(`^GET /piece/${HASH}/2 `));
    assert.equal(p.conns(), 1, 'one pool per peer: the bitfield connection carried the piece');
  } finally {
    s.close();
    p.close();
  }
});

test('a bitfield that is refused, of the wrong length or followed by unasked bytes', async () => {
  const refused = await peer(() => answer('404 Not Found', Buffer.from('no')));
  const s1 = source(refused.port);
  await assert.rejects(s1.connect(AbortSignal.timeout(5000)), /answered HTTP 404 for its bitfield/);
  s1.close();
  refused.close();

  const long = await peer(() => answer('200 OK', Buffer.alloc(3)));
  const s2 = source(long.port);
  await assert.rejects(s2.connect(AbortSignal.timeout(5000)), /3 bytes where 2 were expected/);
  s2.close();
  long.close();

  // Bytes after the bitfield on a kept-alive connection: that connection is closed, the piece
  // request goes on a new one.
  const junk = await peer((req, _n, sock) => {
    if (!req.startsWith('GET /bitfield/')) return answer('206 Partial Content', Buffer.alloc(10, 1));
    setTimeout(() => sock.write('junk'), 30);
    return answer('200 OK', BITFIELD);
  });
  const s3 = source(junk.port);
  try {
    await s3.connect(AbortSignal.timeout(5000));
    await new Promise((r) => setTimeout(r, 100));
    const into = Buffer.alloc(10);
    await s3.fetchBlockInto(0, 0, into, AbortSignal.timeout(5000));
    assert.ok(into.every((b) => b === 1), 'the block holds the piece bytes (1)');
    assert.equal(junk.conns(), 2, 'the connection that carried unasked bytes was not reused');
  } finally {
    s3.close();
    junk.close();
  }
});
