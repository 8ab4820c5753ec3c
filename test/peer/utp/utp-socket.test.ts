/** One uTP connection between two endpoints on 127.0.0.1 (src/peer/utp/utp-socket.ts): transfers, backpressure, FIN, reset. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Duplex } from 'node:stream';
import type { PeerSocket } from '../../../src/peer/wire/peer-socket.ts';
import { connected, endpoints, exchange, randomData, readAll, sha1 } from './helpers.ts';

test('16 MiB each way at once arrives byte-exact, and the FINs close both ends cleanly', async () => {
  const { a, b, close } = await endpoints();
  try {
    const { client, server } = await connected(a, b);
    const asPeerSocket: PeerSocket = client; // what the wire protocol runs over
    assert.equal(asPeerSocket.remotePort, b.address().port);
    assert.equal(server.remotePort, a.address().port);
    const up = randomData(16 << 20);
    const down = randomData(16 << 20);
    const closes = [once(client, 'close'), once(server, 'close')];
    const { atServer, atClient } = await exchange(client, server, up, down);
    assert.deepEqual(atServer, { bytes: up.length, sha1: sha1(up) });
    assert.deepEqual(atClient, { bytes: down.length, sha1: sha1(down) });
    await Promise.all(closes);
    assert.equal(client.errored, null);
    assert.equal(server.errored, null);
    assert.equal(a.connectionCount, 0);
    assert.equal(b.connectionCount, 0);
  } finally {
    await close();
  }
});

test('a paused reader stops the sender: write() returns false, the receive buffer stays bounded, all arrives on resume', async () => {
  const { a, b, close } = await endpoints();
  try {
    const { client, server } = await connected(a, b);
    server.pause();
    const data = randomData(8 << 20);
    let accepted = 0;
    let blocked = false;
    const writer = (async () => {
      for (let off = 0; off < data.length; off += 16384) {
        accepted += 16384;
        if (!client.write(data.subarray(off, off + 16384))) {
          blocked = true;
          await once(client, 'drain');
        }
      }
      client.end();
    })();
    await sleep(1500);
    assert.ok(blocked, 'write() returned false');
    assert.ok(client.writableNeedDrain, 'the uploader sees writableNeedDrain');
    // Our receive window (1 MiB) + the Writable's and the sender's queues + what is in flight.
    assert.ok(accepted < 3 << 20, `the writer got only so far while nobody reads: ${accepted} bytes`);
    assert.ok(server.readableLength <= (1 << 20) + 1400, `receive buffer bounded: ${server.readableLength}`);
    const got = readAll(server);
    server.resume();
    await writer;
    assert.deepEqual(await got, { bytes: data.length, sha1: sha1(data) });
  } finally {
    await close();
  }
});

test('destroy() resets the other side: it gets ECONNRESET and closes; the endpoints forget both', async () => {
  const { a, b, close } = await endpoints();
  try {
    const { client, server } = await connected(a, b);
    client.write('hello');
    const [chunk] = (await once(server, 'data')) as [Buffer];
    assert.equal(chunk.toString(), 'hello');
    const err = once(server, 'error') as Promise<[NodeJS.ErrnoException]>;
    const closed = new Promise((resolve) => server.once('close', resolve));
    client.destroy();
    assert.equal((await err)[0].code, 'ECONNRESET');
    await closed;
    assert.equal(a.connectionCount, 0);
    assert.equal(b.connectionCount, 0);
  } finally {
    await close();
  }
});

test('connect: refused by an endpoint that takes no connections, timed out where nobody answers, aborted by a signal', async () => {
  const { a, b, close } = await endpoints();
  try {
    const port = b.address().port;
    let t0 = performance.now();
    await assert.rejects(a.connect('127.0.0.1', port, { timeoutMs: 5000 }), { code: 'ECONNRESET' });
    assert.ok(performance.now() - t0 < 1000, 'a RESET answers the SYN at once');
    await b.close();
    t0 = performance.now();
    await assert.rejects(a.connect('127.0.0.1', port, { timeoutMs: 700 }), { code: 'ETIMEDOUT' });
    assert.ok(performance.now() - t0 < 1500, `the 700 ms connect timeout rejected within 1.5 s: ${(performance.now() - t0).toFixed(0)} ms`);
    const ac = new AbortController();
    const p = a.connect('127.0.0.1', port, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.equal(a.connectionCount, 0);
  } finally {
    await close();
  }
});

test('half-close: the server reads to the end, answers, and the client gets the answer then the end', async () => {
  const { a, b, close } = await endpoints();
  try {
    b.on('connection', (s) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => s.end(Buffer.concat(parts).toString().toUpperCase()));
    });
    const client = await a.connect('127.0.0.1', b.address().port);
    const reply = readAll(client);
    const collected: Buffer[] = [];
    client.on('data', (d: Buffer) => collected.push(d));
    client.end('ping over utp');
    await reply;
    assert.equal(Buffer.concat(collected).toString(), 'PING OVER UTP');
    await once(client, 'close');
  } finally {
    await close();
  }
});

test('IPv6: endpoints bound to ::1 speak uTP over udp6', async () => {
  const { UtpEndpoint } = await import('../../../src/peer/utp/endpoint.ts');
  const a = await UtpEndpoint.bind(0, '::1');
  const b = await UtpEndpoint.bind(0, '::1');
  try {
    b.on('connection', (s: Duplex) => s.on('data', (d: Buffer) => s.end(d)));
    const client = await a.connect('::1', b.address().port);
    assert.equal(client.remoteAddress, '::1');
    client.end('over udp6');
    assert.equal(Buffer.concat(await client.toArray()).toString(), 'over udp6');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
