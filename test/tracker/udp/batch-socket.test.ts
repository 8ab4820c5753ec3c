/**
 * The native batch socket (native/udp-batch through src/tracker/udp/batch-socket.ts) over real
 * loopback sockets: bursts answered in batches, each answer to its own sender; IPv6; datagrams
 * too long for a slot dropped while the rest are served; bad arguments refused by the addon;
 * a taken port; close. Then the out queue's bounds against a fake addon whose kernel is "full".
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { loadUdpBatchAddon, OUT_META, type NativeUdpHandle, type UdpBatchAddon } from '../../../src/tracker/udp/batch-native.ts';
import { BatchUdpSocket, IN_SLOTS, OUT_SLOTS, SLOT_BYTES, type DatagramHandler } from '../../../src/tracker/udp/batch-socket.ts';
import { skipOrFail } from '../../support/procs.ts';

const addon = loadUdpBatchAddon();
const NOT_BUILT = 'native/udp-batch is not built (npm run install, or npm ci, builds it with node-gyp and cc)';
const sockets: BatchUdpSocket[] = [];
const clients: dgram.Socket[] = [];
after(() => {
  for (const s of sockets) s.close();
  for (const c of clients) c.close();
});

function open(handle: DatagramHandler, host = '127.0.0.1', port = 0, logs: string[] = []): BatchUdpSocket {
  const s = new BatchUdpSocket(addon!, { family: host.includes(':') ? 6 : 4, host, port, reusePort: false, bufferBytes: 1 << 20 }, handle, (what, e) => logs.push(`${what}: ${(e as Error).message}`));
  sockets.push(s);
  return s;
}

async function client(type: 'udp4' | 'udp6' = 'udp4'): Promise<{ socket: dgram.Socket; inbox: Buffer[] }> {
  const socket = dgram.createSocket(type);
  clients.push(socket);
  const inbox: Buffer[] = [];
  socket.on('message', (m) => inbox.push(m));
  await new Promise<void>((resolve) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve));
  socket.setRecvBufferSize(4 << 20); // a burst of answers waits here while this process sends
  return { socket, inbox };
}

async function until(f: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a burst from several clients: every datagram handled once, each answer back to its sender (several recvmmsg batches)', async (t) => {
  if (!addon) return skipOrFail(t, NOT_BUILT);
  const seen: string[] = [];
  const s = open((msg, address, port) => {
    seen.push(`${address}:${port} ${msg.toString()}`);
    return Buffer.from(`re:${msg.toString()}`);
  });
  const cs = await Promise.all([client(), client(), client()]);
  const n = 240;
  // In rounds of 40 per client (120 datagrams, more than IN_SLOTS: several recvmmsg batches); a
  // burst larger than the kernel's default buffers (~208 KiB) would be dropped there.
  for (let round = 0; round < n; round += 40) {
    for (let i = round; i < round + 40; i++) for (const [k, c] of cs.entries()) c.socket.send(`${k}-${i}`, s.port, '127.0.0.1');
    await until(() => cs.every((c) => c.inbox.length === round + 40), 5000);
  }
  for (const [k, c] of cs.entries()) {
    const got = new Set(c.inbox.map((m) => m.toString()));
    assert.equal(got.size, n);
    for (let i = 0; i < n; i++) assert.ok(got.has(`re:${k}-${i}`), `client ${k} answer ${i}`);
  }
  assert.equal(seen.length, 3 * n);
  const port0 = cs[0]!.socket.address().port;
  assert.ok(seen.includes(`127.0.0.1:${port0} 0-0`), seen[0]);
  assert.ok(IN_SLOTS < 3 * 40, `IN_SLOTS (${IN_SLOTS}) is under the 120 datagrams of a round, so a round takes several batches`);
});

test('IPv6: the sender address as text, the answer back over IPv6', async (t) => {
  if (!addon) return skipOrFail(t, NOT_BUILT);
  const from: string[] = [];
  const s = open((msg, address) => (from.push(address), Buffer.from(msg)), '::1');
  const c = await client('udp6');
  c.socket.send('six', s.port, '::1');
  await until(() => c.inbox.length === 1);
  assert.deepEqual([from, c.inbox[0]!.toString()], [['::1'], 'six']);
});

test('a datagram longer than a slot is dropped (truncated), the others served; async answers and throws', async (t) => {
  if (!addon) return skipOrFail(t, NOT_BUILT);
  const logs: string[] = [];
  const s = open((msg) => {
    const text = msg.toString();
    if (text === 'throw') throw new Error('a bug');
    if (text === 'null') return null;
    if (text.startsWith('later')) return new Promise<Buffer>((resolve) => setTimeout(() => resolve(Buffer.from(`done ${text}`)), 20));
    return Buffer.from(`len ${msg.length}`);
  }, '127.0.0.1', 0, logs);
  const c = await client();
  const send = (b: Buffer | string) => c.socket.send(b, s.port, '127.0.0.1');
  for (const b of [Buffer.alloc(SLOT_BYTES + 1, 1), Buffer.alloc(60_000, 2), 'throw', 'null', 'later 1', Buffer.alloc(SLOT_BYTES, 3), 'later 2', 'x']) send(b);
  await until(() => c.inbox.length === 4);
  await new Promise((r) => setTimeout(r, 100)); // nothing more comes
  assert.deepEqual(c.inbox.map((m) => m.toString()).sort(), [`len ${SLOT_BYTES}`, 'done later 1', 'done later 2', 'len 1'].sort());
  assert.equal(s.counters()[0], 2, 'two truncated datagrams dropped');
  assert.deepEqual(logs, ['handler: a bug']);
});

test('close() from inside the handler: the rest of that batch is not handled, the port is free at once', async (t) => {
  if (!addon) return skipOrFail(t, NOT_BUILT);
  const seen: string[] = [];
  const s: BatchUdpSocket = open((msg) => {
    seen.push(msg.toString());
    if (msg.toString() === 'close') s.close();
    return Buffer.from('answer');
  });
  const port = s.port;
  const c = await client();
  // One burst: the datagrams queue in the socket until the event loop reads them in one batch.
  for (const text of ['a', 'close', 'b', 'c']) c.socket.send(text, port, '127.0.0.1');
  await until(() => seen.includes('close'));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen, ['a', 'close']);
  assert.deepEqual(c.inbox, [], 'answers of a closed socket are not sent');
  const again = open(() => null, '127.0.0.1', port);
  assert.equal(again.port, port);
});

test('the addon refuses bad arguments and a taken port (EADDRINUSE); close frees the port', async (t) => {
  if (!addon) return skipOrFail(t, NOT_BUILT);
  const s = open(() => null);
  const port = s.port;
  assert.throws(() => open(() => null, '127.0.0.1', port), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
  assert.throws(() => open(() => null, 'localhost'), (e: NodeJS.ErrnoException) => e.code === 'EINVAL');
  const small = Buffer.alloc(10);
  const noop = () => {};
  assert.throws(() => addon.open(4, '127.0.0.1', 0, false, 0, small, small, 64, small, small, 64, 2048, noop, noop), /too small/);
  assert.throws(() => addon.open(4, '127.0.0.1', 0, false, 0, small, small, 0, small, small, 64, 2048, noop, noop), /out of range/);
  assert.throws(() => addon.open(5 as 4, '127.0.0.1', 0, false, 0, small, small, 1, small, small, 1, 64, noop, noop), /bad family/);
  assert.throws(() => addon.send({} as NativeUdpHandle, 0, 1), /not a socket/);
  s.close();
  s.close();
  const again = open(() => null, '127.0.0.1', port);
  assert.equal(again.port, port);
});

/** A fake addon: its "kernel" takes `room` answers, then EAGAIN until writable() is called. */
function fakeAddon(room: { n: number }, counters: [number, number, number] = [0, 0, 0]) {
  const sent: string[] = [];
  let outData: Buffer, outMeta: Buffer, onBatch: (n: number) => void, onWritable: () => void;
  let inData: Buffer, inMeta: Buffer;
  const fake: UdpBatchAddon = {
    open: (_f, _h, _p, _r, _b, iD, iM, _is, oD, oM, _os, _sb, ob, ow) => {
      [inData, inMeta, outData, outMeta, onBatch, onWritable] = [iD, iM, oD, oM, ob, ow];
      return {} as NativeUdpHandle;
    },
    send: (_h, first, count) => {
      const n = Math.min(count, room.n);
      room.n -= n;
      for (let i = first; i < first + n; i++) sent.push(outData.toString('latin1', i * SLOT_BYTES, i * SLOT_BYTES + outMeta.readUInt32LE(i * OUT_META)));
      return n;
    },
    localPort: () => 1,
    counters: () => counters,
    close: () => {},
  };
  /** `texts` arrive as one batch from 127.0.0.1:9. */
  const deliver = (texts: string[]) => {
    texts.forEach((text, i) => {
      const m = i * 80;
      inMeta.fill(0, m, m + 80);
      inMeta.writeUInt32LE(text.length, m);
      inMeta.writeUInt16LE(9, m + 4);
      inMeta[m + 6] = 4;
      inMeta[m + 7] = inMeta.write('127.0.0.1', m + 32, 'latin1');
      inData.write(text, i * SLOT_BYTES, 'latin1');
    });
    onBatch(texts.length);
  };
  return { fake, sent, deliver, writable: () => onWritable() };
}

test('a full kernel buffer: answers wait (at most OUT_SLOTS) and go out in order once writable', () => {
  const room = { n: 10 };
  const { fake, sent, deliver, writable } = fakeAddon(room);
  const logs = new Set<string>();
  const s = new BatchUdpSocket(fake, { family: 4, host: '127.0.0.1', port: 0, reusePort: false, bufferBytes: 0 }, (msg) => Buffer.from(`a${msg.toString()}`), (w, e) => logs.add(`${w}: ${(e as Error).message}`));
  const batch = (from: number) => Array.from({ length: IN_SLOTS }, (_, i) => String(from + i));
  deliver(batch(0));
  assert.equal(sent.length, 10, 'the kernel took 10');
  const batches = Math.ceil((OUT_SLOTS + IN_SLOTS) / IN_SLOTS);
  for (let b = 1; b <= batches; b++) deliver(batch(b * IN_SLOTS));
  assert.equal(sent.length, 10, 'nothing sent while blocked');
  assert.equal(s.dropped, (batches + 1) * IN_SLOTS - 10 - OUT_SLOTS, 'past OUT_SLOTS waiting, answers dropped');
  assert.deepEqual([...logs], ['send: send queue full: answer dropped']);
  room.n = Infinity;
  writable();
  assert.equal(sent.length, 10 + OUT_SLOTS);
  assert.deepEqual(sent.slice(0, 12), Array.from({ length: 12 }, (_, i) => `a${i}`), 'in order');
  deliver(['x']);
  assert.equal(sent.at(-1), 'ax', 'unblocked: the next batch goes out at once');
});

test('answers the kernel refused (counted by the addon) are logged, once per kind', () => {
  const counters: [number, number, number] = [0, 0, 0];
  const { fake, deliver } = fakeAddon({ n: Infinity }, counters);
  const logs: string[] = [];
  new BatchUdpSocket(fake, { family: 4, host: '127.0.0.1', port: 0, reusePort: false, bufferBytes: 0 }, () => Buffer.from('a'), (w, e) => logs.push(`${w}: ${(e as Error).message}`));
  deliver(['x']);
  assert.deepEqual(logs, [], 'nothing refused yet');
  counters[1] = 3;
  counters[2] = 1; // EPERM
  const realNow = Date.now;
  Date.now = () => realNow() + 5000; // the counters are read at most once a second
  try {
    deliver(['y']);
  } finally {
    Date.now = realNow;
  }
  assert.deepEqual(logs, ['send: the kernel refused an answer (EPERM)']);
});
