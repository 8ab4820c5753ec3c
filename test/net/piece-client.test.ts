import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { PieceClient, PieceClientError } from '../../src/net/piece-client.ts';

/** A TCP server whose every connection gets `answer(socket, requestText)` per request. */
async function server(answer: (s: net.Socket, req: string, n: number) => void): Promise<{ port: number; close(): void; conns: () => number }> {
  let conns = 0;
  const srv = net.createServer((s) => {
    conns++;
    let buf = '';
    let n = 0;
    s.on('error', () => {});
    s.on('data', (d) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        const i = buf.indexOf('\r\n\r\n');
        const req = buf.slice(0, i);
        buf = buf.slice(i + 4);
        answer(s, req, n++);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close(), conns: () => conns };
}
const ok = (len: number, fill = 7, extraHeaders = '') => Buffer.concat([Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${len}\r\n${extraHeaders}\r\n`), Buffer.alloc(len, fill)]);
const opts = { okStatus: [206], timeoutMs: 1000 };

test('good answers, keep-alive reuse, data in place, onData in order', async () => {
  const s = await server((sock) => sock.write(ok(100000, 9)));
  const c = new PieceClient('127.0.0.1', s.port);
  for (let i = 0; i < 5; i++) {
    const into = Buffer.alloc(100000);
    let next = 0;
    const st = await c.getInto('/x', into, { ...opts, onData: (o, n) => { assert.equal(o, next); next += n; } });
    assert.equal(st, 206); assert.equal(next, 100000); assert.ok(into.every((b) => b === 9), 'every byte received is 9');
  }
  assert.equal(s.conns(), 1);
  c.close(); s.close();
});
test('wrong Content-Length, bad status, chunked, garbage, huge headers, too many bytes', async () => {
  const cases: Array<[string, (sock: net.Socket) => void, RegExp]> = [
    ['short CL', (k) => k.write(ok(99)), /99 bytes where 100/],
    ['long CL', (k) => k.write(ok(101)), /101 bytes where 100/],
    ['no CL', (k) => k.write('HTTP/1.1 206 OK\r\n\r\n' + 'x'.repeat(100)), /unknown bytes/],
    ['404', (k) => k.write('HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n'), /HTTP 404/],
    ['chunked', (k) => k.write('HTTP/1.1 206 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n'), /chunked/],
    ['garbage', (k) => k.write(Buffer.alloc(5000, 0x41)), /no data/], ['garbage big', (k) => k.write(Buffer.alloc(50000, 0x41)), /headers longer/],
    ['garbage lines', (k) => k.write('\x00\x01\x02\r\n\r\n'), /malformed/],
    ['bad header', (k) => k.write('HTTP/1.1 206 OK\r\nnocolon\r\n\r\n'), /malformed/],
    ['huge headers', (k) => k.write('HTTP/1.1 206 OK\r\n' + 'X-A: b\r\n'.repeat(5000)), /headers longer/],
    ['extra bytes', (k) => k.write(Buffer.concat([ok(100), Buffer.from('more')])), /more bytes/],
    ['two CLs', (k) => k.write('HTTP/1.1 206 OK\r\nContent-Length: 100\r\nContent-Length: 5\r\n\r\n'), /bad Content-Length/],
    ['neg CL', (k) => k.write('HTTP/1.1 206 OK\r\nContent-Length: -1\r\n\r\n'), /bad Content-Length/],
    ['close mid-body', (k) => k.end(ok(100).subarray(0, 120)), /closed/],
    ['stall', () => {}, /no data/],
    ['stall mid-body', (k) => k.write(ok(100).subarray(0, 80)), /no data/],
  ];
  for (const [name, answer, re] of cases) {
    const s = await server(answer);
    const c = new PieceClient('127.0.0.1', s.port);
    await assert.rejects(c.getInto('/x', Buffer.alloc(100), opts), (e: Error) => e instanceof PieceClientError && re.test(e.message), name);
    c.close(); s.close();
  }
});
test('bytes after a complete answer close the connection; the next request uses a new one', async () => {
  const s = await server((k, _r, n) => { k.write(ok(100)); if (n === 0) setTimeout(() => k.write('junk'), 50); });
  const c = new PieceClient('127.0.0.1', s.port);
  await c.getInto('/x', Buffer.alloc(100), opts);
  await new Promise((r) => setTimeout(r, 150));
  await c.getInto('/x', Buffer.alloc(100), opts);
  assert.equal(s.conns(), 2);
  c.close(); s.close();
});
test('server closes idle keep-alive connections: retried transparently', async () => {
  const s = await server((k) => k.end(ok(100))); // answers then closes (without Connection: close)
  const c = new PieceClient('127.0.0.1', s.port);
  for (let i = 0; i < 3; i++) await c.getInto('/x', Buffer.alloc(100), opts);
  c.close(); s.close();
});
test('abort mid-body: rejects, and nothing lands in the buffer afterwards', async () => {
  let sock!: net.Socket;
  const s = await server((k) => { sock = k; k.write(ok(1000000).subarray(0, 5000)); });
  const c = new PieceClient('127.0.0.1', s.port);
  const into = Buffer.alloc(1000000);
  const ac = new AbortController();
  const p = c.getInto('/x', into, { ...opts, signal: ac.signal, onData: () => ac.abort() });
  await assert.rejects(p);
  sock.write(Buffer.alloc(500000, 3));
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(!into.includes(3), 'no byte sent after the rejection is written into the buffer');
  c.close(); s.close();
});
test('connection refused: a clean error', async () => {
  const s = await server(() => {}); s.close();
  await new Promise((r) => setTimeout(r, 50));
  const c = new PieceClient('127.0.0.1', s.port);
  await assert.rejects(c.getInto('/x', Buffer.alloc(10), opts), /ECONNREFUSED/);
});
test('a trickle of bytes keeps the silence timer alive but not past the deadline', async () => {
  const timers: NodeJS.Timeout[] = [];
  // Headers, then one body byte every 50 ms: never silent for the 300 ms timeout.
  const s = await server((k) => {
    k.write('HTTP/1.1 206 OK\r\nContent-Length: 1000\r\n\r\n');
    timers.push(setInterval(() => k.write('x'), 50));
  });
  const c = new PieceClient('127.0.0.1', s.port);
  const t0 = Date.now();
  await assert.rejects(c.getInto('/x', Buffer.alloc(1000), { okStatus: [206], timeoutMs: 300, deadlineMs: 700 }), (e: Error) => e instanceof PieceClientError && /not complete within 700 ms/.test(e.message));
  const took = Date.now() - t0;
  assert.ok(took >= 650 && took < 1500, `failed after ${took} ms`);
  // A deadline long enough does not cut a good answer; nor is it left armed on a reused connection.
  for (const t of timers) clearInterval(t);
  const s2 = await server((k) => k.write(ok(100)));
  const c2 = new PieceClient('127.0.0.1', s2.port);
  for (let i = 0; i < 3; i++) await c2.getInto('/x', Buffer.alloc(100), { ...opts, deadlineMs: 200 });
  await new Promise((r) => setTimeout(r, 300));
  await c2.getInto('/x', Buffer.alloc(100), { ...opts, deadlineMs: 200 });
  c.close(); s.close(); c2.close(); s2.close();
});
