/** Serving block requests in batches (src/peer/wire/block-sender.ts), over real loopback sockets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tempDir } from '../../../harness/procs.ts';
import { PieceStore } from '../../../src/storage/piece-store.ts';
import { RequestQueue, type BlockRequest } from '../../../src/peer/wire/request-queue.ts';
import { BATCH_BYTES, contiguousRuns, pieceHeaders, serveBatches, takeBatch, type BatchEnv } from '../../../src/peer/wire/block-sender.ts';
import { MessageParser, type Message } from '../../../src/peer/wire/messages.ts';
import { RateLimiter, RATE_SLICE } from '../../../src/net/rate-limiter.ts';

const KiB = 1024;
const PIECE = 64 * KiB;

function queueOf(reqs: BlockRequest[], pieceLength = PIECE): RequestQueue {
  const q = new RequestQueue(pieceLength);
  for (const r of reqs) q.push(r.index, r.begin, r.length);
  return q;
}

test('takeBatch: whole blocks up to the limit, in queue order; short blocks never overrun it', () => {
  const reqs = Array.from({ length: 40 }, (_, i) => ({ index: i >> 2, begin: (i & 3) * 16 * KiB, length: 16 * KiB }));
  const q = queueOf(reqs);
  const first = takeBatch(q, BATCH_BYTES);
  assert.deepEqual(first, reqs.slice(0, 16));
  assert.equal(q.size, 24);
  const short = queueOf(Array.from({ length: 40 }, (_, i) => ({ index: 0, begin: i * 1000, length: 1000 + (i % 3) })));
  const b = takeBatch(short, 64 * KiB);
  assert.ok(b.reduce((s, r) => s + r.length, 0) <= 64 * KiB, `a batch is at most 64 KiB: ${b.reduce((s, r) => s + r.length, 0)} bytes`);
  assert.equal(b.length, 40, 'all 40 (about 40 KB) fit: the batch stops only when a whole block might not');
});

test('contiguousRuns: adjacent blocks merge across a piece boundary; gaps and repeats start a new run', () => {
  const b: BlockRequest[] = [
    { index: 0, begin: 32 * KiB, length: 16 * KiB },
    { index: 0, begin: 48 * KiB, length: 16 * KiB },
    { index: 1, begin: 0, length: 16 * KiB }, // next piece, same byte stream: still contiguous
    { index: 1, begin: 0, length: 16 * KiB }, // a repeat
    { index: 3, begin: 16 * KiB, length: 100 }, // a gap
  ];
  assert.deepEqual(contiguousRuns(b, PIECE), [
    { from: 0, to: 3, offset: 32 * KiB, length: 48 * KiB },
    { from: 3, to: 4, offset: PIECE, length: 16 * KiB },
    { from: 4, to: 5, offset: 3 * PIECE + 16 * KiB, length: 100 },
  ]);
});

test('pieceHeaders: <9 + length><7><index><begin> for each block', () => {
  const h = pieceHeaders([{ index: 2, begin: 16384, length: 16384 }, { index: 70000, begin: 0, length: 5 }]);
  assert.equal(h.toString('hex'), '000040090700000002000040000000000e070001117000000000');
});

/** A seeder-side socket and a receiving peer that parses what it gets. */
async function socketPair(): Promise<{ send: net.Socket; recv: net.Socket; got: Message[]; close(): void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const recv = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const send = await accepted;
  server.close();
  const got: Message[] = [];
  const parser = new MessageParser({ maxMessage: 1 << 20 });
  recv.on('data', (c: Buffer) => got.push(...parser.push(c)));
  recv.on('error', () => {});
  send.on('error', () => {});
  return { send, recv, got, close: () => (send.destroy(), recv.destroy()) };
}

/** A two-file store (the file boundary falls inside piece 1) of random bytes. */
async function twoFileStore(dir: string): Promise<{ store: PieceStore; bytes: Buffer }> {
  const bytes = randomBytes(4 * PIECE - 777);
  const cut = PIECE + 5000;
  await writeFile(path.join(dir, 'a'), bytes.subarray(0, cut));
  await writeFile(path.join(dir, 'b'), bytes.subarray(cut));
  const store = await PieceStore.openForReading([
    { path: path.join(dir, 'a'), length: cut, offset: 0 },
    { path: path.join(dir, 'b'), length: bytes.length - cut, offset: cut },
  ]);
  return { store, bytes };
}

function envFor(store: PieceStore, extra: Partial<BatchEnv> = {}): BatchEnv & { sentBytes: number; waits: boolean[] } {
  const env = {
    store,
    pieceLength: PIECE,
    signal: new AbortController().signal,
    sentBytes: 0,
    waits: [] as boolean[],
    sent(n: number) {
      env.sentBytes += n;
    },
    waiting(yes: boolean) {
      env.waits.push(yes);
    },
    allowed: () => true,
    ...extra,
  };
  return env;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('serveBatches: every requested block, in order, byte-exact, across a file boundary and a short last block', async () => {
  const tmp = await tempDir('block-sender-');
  const { store, bytes } = await twoFileStore(tmp.dir);
  const pair = await socketPair();
  try {
    const reqs: BlockRequest[] = [];
    for (let p = 3; p >= 0; p--) {
      const size = p === 3 ? PIECE - 777 : PIECE;
      for (let b = 0; b < size; b += 16 * KiB) reqs.push({ index: p, begin: b, length: Math.min(16 * KiB, size - b) });
    }
    reqs.push(reqs[0]!, { index: 1, begin: 100, length: 3 }); // a repeat, an odd small block
    const env = envFor(store);
    const link = { socket: pair.send, closed: false, amChoking: false };
    await serveBatches(link, queueOf(reqs), env);
    const total = reqs.reduce((s, r) => s + r.length, 0);
    assert.equal(env.sentBytes, total);
    assert.equal(env.waits.at(-1), false, 'nothing waits on the peer once served');
    await until(() => pair.got.length === reqs.length, 5000, 'every block');
    for (const [i, r] of reqs.entries()) {
      const m = pair.got[i]!;
      assert.equal(m.type, 'piece');
      if (m.type !== 'piece') continue;
      assert.deepEqual([m.index, m.begin], [r.index, r.begin], `block ${i}`);
      const at = r.index * PIECE + r.begin;
      assert.ok(m.block.equals(bytes.subarray(at, at + r.length)), `bytes of block ${i}`);
    }
  } finally {
    pair.close();
    await store.close();
    await tmp.remove();
  }
});

test('serveBatches: after a choke only allowed requests are sent (BEP 6 allowed fast); the others go to dropped', async () => {
  const tmp = await tempDir('block-sender-');
  const { store } = await twoFileStore(tmp.dir);
  const pair = await socketPair();
  try {
    const reqs = Array.from({ length: 40 }, (_, i) => ({ index: i % 3, begin: 0, length: 16 * KiB }));
    const q = queueOf(reqs);
    const link = { socket: pair.send, closed: false, amChoking: false };
    const dropped: BlockRequest[] = [];
    // We choke the peer while the second batch is read from disk (after the first went out).
    let sentOnce = false;
    const choking = { read: (o: number, n: number, into?: Buffer) => ((link.amChoking ||= sentOnce), store.read(o, n, into)) } as PieceStore;
    // Piece 0 is allowed fast: it is still served while choked.
    const env = envFor(choking, { dropped: (r) => dropped.push(r), allowed: (r) => !link.amChoking || r.index === 0 });
    const sent = env.sent;
    env.sent = (n) => {
      sent.call(env, n);
      sentOnce = true;
    };
    await serveBatches(link, q, env);
    const later = reqs.slice(BATCH_BYTES / (16 * KiB));
    const allowedLater = later.filter((r) => r.index === 0).length;
    assert.equal(env.sentBytes, BATCH_BYTES + allowedLater * 16 * KiB, 'the first batch, then the allowed-fast blocks only');
    assert.equal(dropped.length, later.length - allowedLater, 'every other request was dropped (rejected, with BEP 6)');
    assert.ok(dropped.every((r) => r.index !== 0), `no allowed-fast (piece 0) request was dropped: ${dropped.filter((r) => r.index === 0).length}`);
    assert.equal(q.size, 0);
  } finally {
    pair.close();
    await store.close();
    await tmp.remove();
  }
});

test('serveBatches: a peer that closes mid-transfer ends it (no hang); with an upload cap, batches are one budget slice', async () => {
  const tmp = await tempDir('block-sender-');
  const { store } = await twoFileStore(tmp.dir);
  const pair = await socketPair();
  try {
    const reqs = Array.from({ length: 2000 }, (_, i) => ({ index: i % 4, begin: 0, length: 16 * KiB }));
    const link = { socket: pair.send, closed: false, amChoking: false };
    const ac = new AbortController();
    const sizes: number[] = [];
    const env = envFor(store, { signal: ac.signal, limiter: new RateLimiter(1 << 30) });
    env.sent = (n) => {
      sizes.push(n);
      // The peer reads nothing and goes away after a few batches: the connection closes.
      if (sizes.length === 3) {
        pair.recv.pause();
        pair.recv.destroy();
        pair.send.destroy();
        link.closed = true;
        ac.abort();
      }
    };
    await Promise.race([serveBatches(link, queueOf(reqs), env), new Promise((_, reject) => setTimeout(() => reject(new Error('serveBatches hung')), 5000))]);
    assert.equal(sizes.length, 3);
    assert.ok(sizes.every((n) => n <= RATE_SLICE), `batch sizes ${sizes}`);
  } finally {
    pair.close();
    await store.close();
    await tmp.remove();
  }
});
