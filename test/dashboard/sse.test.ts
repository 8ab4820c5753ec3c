import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { SseHub } from '../../src/dashboard/sse.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serve(hub: SseHub): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => hub.accept(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      hub.close();
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** An event-stream reader: the `data:` payloads parsed so far. */
function subscribe(port: number): Promise<{ res: http.IncomingMessage; messages: unknown[]; status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      const messages: unknown[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          for (const line of block.split('\n')) if (line.startsWith('data: ')) messages.push(JSON.parse(line.slice(6)));
        }
      });
      res.on('error', () => {});
      resolve({ res, messages, status: res.statusCode ?? 0, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

test('nothing is produced while nobody watches; one shared tick per interval while somebody does', async () => {
  let produced = 0;
  const hub = new SseHub({ intervalMs: 100, maxPerAddress: 10, produce: () => ({ n: ++produced }) });
  const s = await serve(hub);
  try {
    await sleep(300);
    assert.equal(produced, 0, 'no client, no work');
    const clients = await Promise.all([subscribe(s.port), subscribe(s.port), subscribe(s.port)]);
    assert.equal(clients[0]!.res.headers['content-type'], 'text/event-stream; charset=utf-8');
    await sleep(550);
    // About 6 ticks in 550 ms at 100 ms (the first at once), whatever the number of clients.
    assert.ok(produced >= 4 && produced <= 8, `produced ${produced}`);
    for (const c of clients) assert.ok(c.messages.length >= 3, `got ${c.messages.length}`);
    // Everybody gets the same updates.
    const last = (c: { messages: unknown[] }) => (c.messages[c.messages.length - 1] as { n: number }).n;
    assert.ok(
      Math.abs(last(clients[0]!) - last(clients[2]!)) <= 1,
      `clients 0 and 2 saw the same last update (within 1): ${last(clients[0]!)} vs ${last(clients[2]!)}`,
    );
    for (const c of clients) c.close();
    await sleep(150);
    assert.equal(hub.watching, 0);
    const stoppedAt = produced;
    await sleep(300);
    assert.equal(produced, stoppedAt, 'the timer stops with the last client');
  } finally {
    await s.close();
  }
});

test('clients of one address beyond its cap get 503', async () => {
  const hub = new SseHub({ intervalMs: 1000, maxClients: 10, maxPerAddress: 2, produce: () => 1 });
  const s = await serve(hub);
  try {
    const [a, b, c] = [await subscribe(s.port), await subscribe(s.port), await subscribe(s.port)];
    assert.deepEqual([a.status, b.status, c.status], [200, 200, 503]);
    a.close();
    await sleep(100);
    const d = await subscribe(s.port);
    assert.equal(d.status, 200, 'a freed place is taken again');
    b.close();
    d.close();
  } finally {
    await s.close();
  }
});

test('clients beyond the cap get 503', async () => {
  const hub = new SseHub({ intervalMs: 1000, maxClients: 2, produce: () => 1 });
  const s = await serve(hub);
  try {
    const a = await subscribe(s.port);
    const b = await subscribe(s.port);
    const c = await subscribe(s.port);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(c.status, 503);
    a.close();
    await sleep(100);
    const d = await subscribe(s.port);
    assert.equal(d.status, 200, 'a freed place is taken again');
    b.close();
    d.close();
  } finally {
    await s.close();
  }
});

test('a client that does not read is dropped; the others go on', async () => {
  const big = 'x'.repeat(512 * 1024);
  const hub = new SseHub({ intervalMs: 50, maxBufferedBytes: 1024 * 1024, produce: () => ({ big }) });
  const s = await serve(hub);
  try {
    // A raw socket that sends the request and then never reads.
    const stuck = net.connect(s.port, '127.0.0.1');
    stuck.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    stuck.pause();
    const reader = await subscribe(s.port);
    const deadline = Date.now() + 15_000;
    while (hub.dropped === 0 && Date.now() < deadline) await sleep(50);
    assert.equal(hub.dropped, 1, 'the stuck client was dropped');
    const before = reader.messages.length;
    await sleep(300);
    assert.ok(reader.messages.length > before, 'the reading client still gets updates');
    reader.close();
    stuck.destroy();
  } finally {
    await s.close();
  }
});

test('a failing produce() is reported once per streak and does not end the streams', async () => {
  let fail = true;
  const errors: unknown[] = [];
  const hub = new SseHub({ intervalMs: 50, produce: () => (fail ? Promise.reject(new Error('store down')) : { ok: true }), onError: (e) => errors.push(e) });
  const s = await serve(hub);
  try {
    const c = await subscribe(s.port);
    await sleep(300);
    assert.equal(errors.length, 1);
    assert.equal(c.messages.length, 0);
    fail = false;
    await sleep(200);
    assert.deepEqual(c.messages[0], { ok: true });
    c.close();
  } finally {
    await s.close();
  }
});
