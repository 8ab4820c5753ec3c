/**
 * src/net/raw-accept.ts over real loopback sockets: connections served on libuv's handles as a
 * Transport. Every path gives the connection's slot back exactly once and tells the owner of the
 * close once; a client sees its whole answer and then a clean close (FIN, not a reset), even when
 * the answer is larger than the kernel's buffers; a write the client does not read returns false
 * and drains later; a paused connection reads nothing; a connection made a socket reads on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { attachRawAccept, type RawAcceptOptions, type RawAcceptor, type RawConnection } from '../../src/net/raw-accept.ts';
import type { TransportOwner } from '../../src/net/transport.ts';

interface Harness {
  server: net.Server;
  acceptor: RawAcceptor;
  port: number;
  /** Slots taken and given back. */
  claimed: number;
  released: number;
  close(): Promise<void>;
}

/** An owner that records what it hears and hands each read to `onData`. */
class Owner implements TransportOwner {
  events: string[] = [];
  constructor(
    readonly conn: RawConnection,
    private readonly data: (conn: RawConnection, chunk: Buffer, owner: Owner) => void,
  ) {}
  onData(chunk: Buffer, shared: boolean): void {
    assert.equal(shared, true, 'raw reads are views of the shared buffer');
    this.data(this.conn, chunk, this);
  }
  onEnd(): void {
    this.events.push('end');
  }
  onDrain(): void {
    this.events.push('drain');
  }
  onClose(): void {
    assert.ok(!this.events.includes('close'), 'onClose once');
    this.events.push('close');
  }
}

async function start(onData: (conn: RawConnection, chunk: Buffer, owner: Owner) => void, owners: Owner[] = [], extra: Partial<RawAcceptOptions> = {}): Promise<Harness> {
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
    onAccept: (conn) => {
      const owner = new Owner(conn, onData);
      owners.push(owner);
      return owner;
    },
    onSocketRead: () => assert.fail('no socket reads expected'),
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

test('on this Node connections are served raw: reads answered with write, end closes with a FIN, the slot released', async () => {
  const seen: string[] = [];
  const owners: Owner[] = [];
  const h = await start((conn, chunk) => {
    seen.push(`${conn.remoteAddress} ${chunk.toString()}`);
    if (chunk.toString() === 'bye') return conn.end(Buffer.from('goodbye'));
    assert.equal(conn.write(Buffer.from(`you said ${chunk.toString()}\n`)), true, 'a small write goes out at once');
  }, owners);
  assert.equal(h.acceptor.active, true, 'raw accept is active on this Node (not silently the socket path)');
  const c = net.connect(h.port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let reset = false;
  c.on('error', () => (reset = true));
  c.on('data', (d: Buffer) => {
    chunks.push(d);
    if (chunks.length === 1) c.write('bye');
  });
  c.write('hello');
  await new Promise((resolve) => c.on('close', resolve));
  assert.equal(Buffer.concat(chunks).toString(), 'you said hello\ngoodbye');
  assert.equal(reset, false, 'closed with a FIN after the answer, not reset');
  assert.deepEqual(seen, ['127.0.0.1 hello', '127.0.0.1 bye']);
  await until(() => h.released === 1);
  assert.deepEqual(owners[0]!.events, ['close']);
  assert.equal(h.claimed, 1);
  await h.close();
});

test('end() with an answer larger than the kernel buffers to a client that reads late: all of it arrives, then the close', async () => {
  const big = Buffer.alloc(32 * 1024 * 1024, 0x5a);
  big.write('END', big.length - 3);
  const h = await start((conn) => conn.end(big));
  const r = await exchange(h.port, 'x', { readDelayMs: 300 });
  assert.equal(r.data.length, big.length);
  assert.ok(r.data.equals(big), `the ${big.length} bytes arrive unchanged`);
  assert.equal(r.reset, false);
  await until(() => h.released === 1);
  await h.close();
});

test('a write the client does not read returns false; paused, nothing more is read; onDrain once it reads, then reads go on', async () => {
  const big = Buffer.alloc(16 * 1024 * 1024, 0x41);
  const reads: string[] = [];
  const owners: Owner[] = [];
  const h = await start((conn, chunk, owner) => {
    reads.push(chunk.toString());
    if (reads.length === 1) {
      assert.equal(conn.write(big), false, 'more than the kernel takes at once');
      conn.pause();
    } else conn.end(Buffer.from(`|got ${chunk.toString()}`));
    void owner;
  }, owners);
  const c = net.connect(h.port, '127.0.0.1');
  c.pause();
  c.write('first');
  await until(() => reads.length === 1);
  c.write('second');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(reads, ['first'], 'a paused connection reads nothing');
  assert.deepEqual(owners[0]!.events, []);
  let received = 0;
  let tail = '';
  c.on('data', (d: Buffer) => {
    received += d.length;
    tail = (tail + d.toString('latin1')).slice(-64);
  });
  c.resume();
  await until(() => owners[0]!.events.includes('drain'));
  owners[0]!.conn.resume();
  await new Promise((resolve) => c.on('close', resolve));
  assert.equal(received, big.length + '|got second'.length);
  assert.ok(tail.endsWith('|got second'), `the tail ends with '|got second': ${JSON.stringify(tail.slice(-40))}`);
  await until(() => h.released === 1);
  await h.close();
});

test('the client closing its side: onEnd; destroy then closes once, releases once, and later calls are no-ops', async () => {
  const owners: Owner[] = [];
  const h = await start(() => {}, owners);
  const c = net.connect(h.port, '127.0.0.1');
  c.on('error', () => {});
  c.write('something');
  await until(() => owners.length === 1);
  c.end();
  await until(() => owners[0]!.events.includes('end'));
  const conn = owners[0]!.conn;
  assert.equal(conn.closed, false, 'the owner decides when to close');
  conn.destroy();
  conn.destroy();
  assert.equal(conn.write(Buffer.from('too late')), false);
  conn.end(Buffer.from('too late'));
  assert.deepEqual(owners[0]!.events, ['end', 'close']);
  await until(() => h.released === 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.released, 1);
  c.destroy();
  await h.close();
});

test('a refused claim closes the connection unanswered, with no read', async () => {
  const server = net.createServer();
  const acceptor = attachRawAccept(server, {
    buffer: Buffer.alloc(1024),
    claim: () => null,
    onAccept: () => assert.fail('a refused connection has no owner'),
    onSocketRead: () => assert.fail('no socket'),
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
    onAccept: (conn) => ({
      onData: (chunk) => {
        socket = conn.toSocket();
        assert.equal(socket.remoteAddress, '127.0.0.1');
        assert.equal(socket.isPaused(), true, 'handed over paused');
        socket.write(`first: ${chunk.toString()}\n`);
        socket.resume();
      },
      onEnd: () => assert.fail('the socket owns the connection now'),
      onDrain: () => assert.fail('no raw writes'),
      onClose: () => assert.fail('the socket owns the connection now'),
    }),
    onSocketRead: function (nread, buf) {
      assert.equal(buf, buffer, 'socket reads land in the same shared buffer');
      later.push(buf.toString('latin1', 0, nread));
      this.end(`later: ${later.join('')}\n`);
    },
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
