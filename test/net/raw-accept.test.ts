/**
 * src/net/raw-accept.ts over real loopback sockets: connections served on libuv's handles until
 * they need a net.Socket. Every path gives the connection's slot back exactly once; a client sees
 * its whole answer and then a clean close (FIN, not a reset), even when the answer is larger than
 * the kernel's buffers; idle connections are closed; a connection made a socket reads on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { attachRawAccept, type RawAcceptOptions, type RawAcceptor, type RawConnection } from '../../src/net/raw-accept.ts';

interface Harness {
  server: net.Server;
  acceptor: RawAcceptor;
  port: number;
  /** Slots taken and given back, by address. */
  claimed: number;
  released: number;
  close(): Promise<void>;
}

async function start(onFirstRead: RawAcceptOptions['onFirstRead'], extra: Partial<RawAcceptOptions> = {}): Promise<Harness> {
  const server = net.createServer(() => assert.fail('no connection may reach the net.Socket path'));
  const h = { claimed: 0, released: 0 } as Harness;
  h.acceptor = attachRawAccept(server, {
    buffer: Buffer.alloc(64 * 1024),
    claim: () => {
      h.claimed++;
      let once = false;
      return () => {
        assert.equal(once, false, 'a slot is released once');
        once = true;
        h.released++;
      };
    },
    onFirstRead,
    onSocketRead: () => assert.fail('no socket reads expected'),
    idleTimeoutMs: 60_000,
    ...extra,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(h, {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
  return h;
}

/** Connect, send `bytes`, collect everything until the server closes; `reset` says how it closed. */
function exchange(port: number, bytes: string | null, opts: { readDelayMs?: number } = {}): Promise<{ data: Buffer; reset: boolean }> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let reset = false;
    if (bytes !== null) c.write(bytes);
    if (opts.readDelayMs) {
      c.pause();
      setTimeout(() => c.resume(), opts.readDelayMs);
    }
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('error', () => (reset = true));
    c.on('close', () => resolve({ data: Buffer.concat(chunks), reset }));
  });
}

const until = async (cond: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not reached in time');
};

test('on this Node connections are served raw: the first read is answered and closed with a FIN, the slot released', async () => {
  const seen: string[] = [];
  const h = await start((conn, chunk) => {
    seen.push(`${conn.address} ${chunk.toString()}`);
    conn.answerAndClose(Buffer.from(`you said ${chunk.toString()}`));
  });
  assert.equal(h.acceptor.active, true, 'raw accept is active on this Node (not silently the socket path)');
  const r = await exchange(h.port, 'hello');
  assert.equal(r.data.toString(), 'you said hello');
  assert.equal(r.reset, false, 'closed with a FIN after the answer, not reset');
  assert.deepEqual(seen, ['127.0.0.1 hello']);
  await until(() => h.released === 1);
  assert.equal(h.claimed, 1);
  await h.close();
});

test('an answer larger than the kernel buffers to a client that reads late: all of it arrives, then the close', async () => {
  const big = Buffer.alloc(32 * 1024 * 1024, 0x5a);
  big.write('END', big.length - 3);
  const h = await start((conn) => conn.answerAndClose(big));
  const r = await exchange(h.port, 'x', { readDelayMs: 300 });
  assert.equal(r.data.length, big.length);
  assert.ok(r.data.equals(big));
  assert.equal(r.reset, false);
  await until(() => h.released === 1);
  await h.close();
});

test('an answer computed later (hold): bytes meanwhile are dropped, no idle close; the client leaving first frees the slot once', async () => {
  let held: RawConnection | undefined;
  let reads = 0;
  const h = await start((conn) => {
    reads++;
    held = conn;
    conn.hold();
  });
  const c = net.connect(h.port, '127.0.0.1');
  c.on('error', () => {});
  c.write('first');
  await until(() => held !== undefined);
  c.write('more bytes while the answer is computed');
  await new Promise((r) => setTimeout(r, 50));
  h.acceptor.sweep(Date.now() + 3_600_000);
  assert.equal(held!.closed, false, 'no idle deadline while answering');
  assert.equal(reads, 1, 'only the first read is the owner\'s');
  c.end();
  await until(() => held!.closed);
  held!.answerAndClose(Buffer.from('too late')); // a no-op, and no second release
  await until(() => h.released === 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.released, 1);
  c.destroy();
  await h.close();
});

test('a connection that sends nothing is closed by the sweep after the idle time; destroyAll closes the rest', async () => {
  const h = await start(() => assert.fail('nothing was sent'), { idleTimeoutMs: 1000 });
  const idle = exchange(h.port, null);
  const other = exchange(h.port, null);
  await until(() => h.claimed === 2);
  h.acceptor.sweep(Date.now() + 500);
  assert.equal(h.released, 0, 'not idle long enough yet');
  h.acceptor.sweep(Date.now() + 1500);
  const r = await idle;
  assert.equal(r.data.length, 0);
  await other;
  assert.equal(h.released, 2);
  const third = exchange(h.port, null);
  await until(() => h.claimed === 3);
  h.acceptor.destroyAll();
  await third;
  assert.equal(h.released, 3);
  await h.close();
});

test('a refused claim closes the connection unanswered, with no read', async () => {
  const server = net.createServer();
  const acceptor = attachRawAccept(server, {
    buffer: Buffer.alloc(1024),
    claim: () => null,
    onFirstRead: () => assert.fail('a refused connection is not read'),
    onSocketRead: () => assert.fail('no socket'),
    idleTimeoutMs: 60_000,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  assert.equal(acceptor.active, true);
  const r = await exchange((server.address() as AddressInfo).port, 'hello');
  assert.equal(r.data.length, 0);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('toSocket: the connection goes on as a net.Socket reading into the shared buffer; its slot is released when it closes', async () => {
  const buffer = Buffer.alloc(64 * 1024);
  const server = net.createServer(() => assert.fail('not through the connection event'));
  let released = 0;
  const later: string[] = [];
  let socket: net.Socket | undefined;
  attachRawAccept(server, {
    buffer,
    claim: () => () => released++,
    onFirstRead: (conn, chunk) => {
      socket = conn.toSocket();
      assert.equal(socket.remoteAddress, '127.0.0.1');
      socket.write(`first: ${chunk.toString()}\n`);
    },
    onSocketRead: function (nread, buf) {
      assert.equal(buf, buffer, 'socket reads land in the same shared buffer');
      later.push(buf.toString('latin1', 0, nread));
      this.end(`later: ${later.join('')}\n`);
    },
    idleTimeoutMs: 60_000,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const c = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  const chunks: Buffer[] = [];
  c.on('data', (d: Buffer) => {
    chunks.push(d);
    if (chunks.length === 1) c.write('second');
  });
  c.write('one');
  await new Promise((resolve) => c.on('close', resolve));
  assert.equal(Buffer.concat(chunks).toString(), 'first: one\nlater: second\n');
  await until(() => released === 1);
  assert.equal(socket!.destroyed, true);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
