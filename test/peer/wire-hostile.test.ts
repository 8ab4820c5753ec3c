/**
 * Hostile BitTorrent clients against a listening PeerNode, each on its own connection: huge
 * length prefixes, bad requests, floods, bad bitfields and haves, wrong handshakes, silent and
 * garbage connections. Every violation must close that connection only; after every case a
 * normal client still gets correct blocks and this process (the node) is fine.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  BLOCK_SIZE,
  encode,
  encodeHandshake,
  type Message,
} from '../../src/peer/wire/messages.ts';
import { MAX_PEER_REQUESTS } from '../../src/peer/wire/uploader.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import type { Metainfo } from '../../src/metainfo/metainfo.ts';

import { sleep, until, clientPeerId, RawPeer, type Seed, makeSeed, expected, httpGet } from '../support/wire-peer.ts';


const MiB = 1024 * 1024;
let seed: Seed;

/** A connection that never sends a byte, and one that sends only the first handshake byte. */
interface Idle {
  openedAt: number;
  closedAt: Promise<number>;
  socket: net.Socket;
}
let silent: Idle;
let oneByte: Idle;

function idle(port: number, first?: Buffer): Promise<Idle> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('connect', () => {
      const openedAt = Date.now();
      if (first) socket.write(first);
      const closedAt = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
      resolve({ openedAt, closedAt, socket });
    });
    socket.once('error', reject);
  });
}

before(async () => {
  seed = await makeSeed();
  // Started first so that their timeouts run while the other cases do.
  silent = await idle(seed.node.port);
  oneByte = await idle(seed.node.port, Buffer.from([19]));
});

after(async () => {
  silent?.socket.destroy();
  oneByte?.socket.destroy();
  await seed?.remove();
});

/** A normal client: handshake, interested, unchoke, a full block and the short last block, exact. */
async function assertHealthy(): Promise<void> {
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash, [{ type: 'interested' }]);
  try {
    await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke for a normal client');
    const last = seed.meta.pieceCount - 1;
    p.send({ type: 'request', index: 5, begin: BLOCK_SIZE, length: BLOCK_SIZE }, { type: 'request', index: last, begin: BLOCK_SIZE, length: 20_000 - BLOCK_SIZE });
    await p.waitFor(() => p.pieces().length === 2, 3000, 'two blocks for a normal client');
    const [a, b] = p.pieces();
    assert.ok(a!.block.equals(expected(seed, 5, BLOCK_SIZE, BLOCK_SIZE)), 'normal client: block of piece 5');
    assert.ok(b!.block.equals(expected(seed, last, BLOCK_SIZE, 20_000 - BLOCK_SIZE)), 'normal client: the short last block');
  } finally {
    p.destroy();
  }
  // Nothing is left behind on the node's side.
  await until(() => seed.node.wires.size === 0, 3000, 'the node to forget every closed connection');
}

/** One hostile case: its own connections, then a normal client must still be served. */
function hostile(name: string, f: () => Promise<void>, opts: { todo?: string } = {}): void {
  test(name, opts, async () => {
    await f();
    await assertHealthy();
  });
}

/** Handshaked, interested and unchoked. */
async function unchokedPeer(): Promise<RawPeer> {
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash, [{ type: 'interested' }]);
  await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke');
  return p;
}

/** Handshaked, our bitfield received, still choked. */
async function chokedPeer(): Promise<RawPeer> {
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash);
  await p.waitFor(() => p.messages.some((m) => m.type === 'bitfield'), 3000, 'bitfield');
  return p;
}

async function assertClosed(p: RawPeer, ms: number, what: string): Promise<void> {
  try {
    await p.waitFor(() => p.closed, ms, `the node to close the connection (${what})`);
  } finally {
    p.destroy();
  }
}

function rssGrowthBelow(before: number, limit: number, what: string): void {
  const grew = process.memoryUsage().rss - before;
  assert.ok(grew < limit, `${what}: rss grew by ${(grew / MiB).toFixed(1)} MiB`);
}

// ---------------------------------------------------------------------------------- cases

test('the node starts healthy', async () => {
  assert.equal(seed.meta.pieceCount, 17);
  await assertHealthy();
});

test(
  'a silent client or one stuck mid-handshake does not hold up PeerNode.close()',
  async () => {
    const node = new PeerNode();
    node.share({ meta: seed.meta, store: seed.store, have: Bitfield.full(seed.meta.pieceCount) });
    await node.listen(0, '127.0.0.1');
    const quiet = await idle(node.port);
    const halfway = await idle(node.port, encodeHandshake(seed.meta.infoHash, clientPeerId()).subarray(0, 30));
    await sleep(100); // let the node accept both
    try {
      const t0 = Date.now();
      const closed = await Promise.race([node.close().then(() => true), sleep(2000).then(() => false)]);
      assert.ok(closed, `PeerNode.close() still pending after ${Date.now() - t0} ms`);
    } finally {
      // Let a pending close() finish, so nothing outlives the test.
      quiet.socket.destroy();
      halfway.socket.destroy();
    }
  },
);

hostile('length prefix 2^32-1 after the handshake: closed promptly, no big allocation', async () => {
  for (const unchoked of [false, true]) {
    const rss0 = process.memoryUsage().rss;
    const p = unchoked ? await unchokedPeer() : await chokedPeer();
    const t0 = Date.now();
    p.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await assertClosed(p, 1000, 'length 2^32-1');
    assert.ok(Date.now() - t0 < 1000, `closed within 1 s of the 2^32-1 length: ${Date.now() - t0} ms`);
    rssGrowthBelow(rss0, 50 * MiB, 'length 2^32-1');
  }
  // Just over the limit the node accepts (128 KiB), and then sending that much: closed too.
  const rss0 = process.memoryUsage().rss;
  const p = await chokedPeer();
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(128 * 1024 + 1);
  p.write(Buffer.concat([prefix, Buffer.from([20]), randomBytes(128 * 1024)]));
  await assertClosed(p, 2000, 'length 128 KiB + 1');
  rssGrowthBelow(rss0, 50 * MiB, 'length 128 KiB + 1');
});

hostile('an unknown message id and an extended message of up to 128 KiB are ignored', async () => {
  const p = await unchokedPeer();
  try {
    p.send({ type: 'extended', id: 99, payload: randomBytes(64 * 1024) }, { type: 'unknown', id: 99 }, { type: 'port', port: 1 }, { type: 'keep-alive' });
    p.send({ type: 'piece', index: 0, begin: 0, block: randomBytes(BLOCK_SIZE) }); // never asked for: ignored
    p.send({ type: 'request', index: 0, begin: 0, length: BLOCK_SIZE });
    const m = await p.waitFor(() => p.pieces()[0], 3000, 'a block after the odd messages');
    assert.ok(m.block.equals(expected(seed, 0, 0, BLOCK_SIZE)), 'the block after the odd messages is the expected bytes');
    assert.ok(!p.closed, 'the connection stays open after the odd messages');
  } finally {
    p.destroy();
  }
});

const BAD_REQUESTS: Array<[string, (m: Metainfo) => { index: number; begin: number; length: number }]> = [
  ['length 16385', () => ({ index: 0, begin: 0, length: BLOCK_SIZE + 1 })],
  ['length 0', () => ({ index: 0, begin: 0, length: 0 })],
  ['length 2^32-1', () => ({ index: 0, begin: 0, length: 0xffffffff })],
  ['index = pieceCount', (m) => ({ index: m.pieceCount, begin: 0, length: BLOCK_SIZE })],
  ['index 2^32-1', () => ({ index: 0xffffffff, begin: 0, length: BLOCK_SIZE })],
  ['past the end of the last piece', (m) => ({ index: m.pieceCount - 1, begin: BLOCK_SIZE, length: BLOCK_SIZE })],
  ['one byte past the end of the last piece', (m) => ({ index: m.pieceCount - 1, begin: 20_000, length: 1 })],
  ['past the end of a full piece', (m) => ({ index: 0, begin: m.pieceLength - BLOCK_SIZE + 1, length: BLOCK_SIZE })],
  ['begin 2^32-1', () => ({ index: 0, begin: 0xffffffff, length: 1 })],
];

for (const [what, req] of BAD_REQUESTS) {
  hostile(`request with ${what}: closed (unchoked and choked)`, async () => {
    for (const unchoked of [true, false]) {
      const p = unchoked ? await unchokedPeer() : await chokedPeer();
      p.send({ type: 'request', ...req(seed.meta) });
      await assertClosed(p, 2000, `${what}, ${unchoked ? 'unchoked' : 'choked'}`);
      assert.equal(p.pieces().length, 0);
    }
  });
}

hostile(`a flood of 3000 requests while unchoked: closed (bound ${MAX_PEER_REQUESTS}), memory bounded`, async () => {
  assert.equal(MAX_PEER_REQUESTS, 2000);
  const rss0 = process.memoryUsage().rss;
  const p = await unchokedPeer();
  p.socket.pause(); // and read nothing: the node cannot drain its queue by sending
  const reqs: Message[] = Array.from({ length: 3000 }, (_, i) => ({ type: 'request', index: i % 16, begin: ((i >> 4) % 4) * BLOCK_SIZE, length: BLOCK_SIZE }));
  p.send(...reqs);
  p.socket.resume();
  await assertClosed(p, 3000, '3000 requests');
  assert.ok(p.pieces().length < 3000, 'not all of the flood was served');
  rssGrowthBelow(rss0, 50 * MiB, '3000 requests');
});

hostile('a flood of 3000 requests while choked: dropped (or closed), memory bounded', async () => {
  const rss0 = process.memoryUsage().rss;
  const p = await chokedPeer();
  try {
    const reqs: Message[] = Array.from({ length: 3000 }, (_, i) => ({ type: 'request', index: i % 16, begin: 0, length: BLOCK_SIZE }));
    p.send(...reqs);
    // Then ask to be unchoked: the flood must not have been queued to be served now.
    p.send({ type: 'interested' });
    await sleep(300);
    if (!p.closed) {
      await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke after the flood');
      await sleep(200);
      assert.equal(p.pieces().length, 0, 'requests sent while choked were dropped, not served after the unchoke');
    }
    rssGrowthBelow(rss0, 50 * MiB, '3000 choked requests');
  } finally {
    p.destroy();
  }
});

hostile('repeated floods of 1999 requests with a client that reads nothing: memory bounded', async () => {
  const rss0 = process.memoryUsage().rss;
  const peers: RawPeer[] = [];
  try {
    for (let k = 0; k < 5; k++) {
      const p = await unchokedPeer();
      p.socket.pause();
      peers.push(p);
      p.send(...Array.from({ length: 1999 }, (_, i): Message => ({ type: 'request', index: i % 16, begin: 0, length: BLOCK_SIZE })));
    }
    await sleep(500);
    // 5 x 1999 x 16 KiB would be 156 MiB if the node read every block ahead of the socket.
    rssGrowthBelow(rss0, 50 * MiB, '5 stalled readers');
  } finally {
    for (const p of peers) p.destroy();
  }
});

hostile('100,000 have messages for valid indexes: no crash', async () => {
  const rss0 = process.memoryUsage().rss;
  const p = await chokedPeer();
  try {
    const one = Buffer.concat(Array.from({ length: 17 }, (_, i) => encode({ type: 'have', index: i })));
    const chunks: Buffer[] = [];
    for (let n = 0; n < 100_000; n += 17) chunks.push(one);
    p.write(Buffer.concat(chunks));
    await sleep(500);
    // Either still open (haves are legal, if pointless) or closed as a flood; if open, it still works.
    if (!p.closed) {
      p.send({ type: 'interested' });
      await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke after the haves');
      p.send({ type: 'request', index: 3, begin: 0, length: BLOCK_SIZE });
      const m = await p.waitFor(() => p.pieces()[0], 3000, 'a block after the haves');
      assert.ok(m.block.equals(expected(seed, 3, 0, BLOCK_SIZE)), 'block 3 after the haves is the expected bytes');
    }
    rssGrowthBelow(rss0, 50 * MiB, '100,000 haves');
  } finally {
    p.destroy();
  }
});

hostile('have with index >= pieceCount: closed', async () => {
  for (const index of [seed.meta.pieceCount, seed.meta.pieceCount + 1, 0x7fffffff, 0xffffffff]) {
    const p = await chokedPeer();
    p.send({ type: 'have', index: 0 }, { type: 'have', index });
    await assertClosed(p, 2000, `have ${index}`);
  }
});

hostile('bitfield of the wrong size or with spare bits set: closed; a right one is fine', async () => {
  const bad: Array<[string, Buffer]> = [
    ['2 bytes for 17 pieces', Buffer.from([0xff, 0xff])],
    ['4 bytes for 17 pieces', Buffer.from([0xff, 0xff, 0x80, 0x00])],
    ['empty', Buffer.alloc(0)],
    ['spare bit 17 set', Buffer.from([0xff, 0xff, 0xc0])],
    ['last spare bit set', Buffer.from([0x00, 0x00, 0x01])],
    ['huge (100 KiB)', Buffer.alloc(100 * 1024, 0xff)],
  ];
  for (const [what, bits] of bad) {
    const p = await chokedPeer();
    p.send({ type: 'bitfield', bits });
    await assertClosed(p, 2000, `bitfield ${what}`);
  }
  const ok = await chokedPeer();
  try {
    // 16 of 17 pieces: a full one from a peer would end the connection (two seeds, BEP 21).
    ok.send({ type: 'bitfield', bits: Buffer.from([0xff, 0xff, 0x00]) }, { type: 'interested' });
    await ok.waitFor(() => ok.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke after a good bitfield');
    const conn = [...seed.node.wires].find((c) => !c.closed);
    assert.equal(conn?.peerHave.count, 16, 'the node recorded the bitfield');
  } finally {
    ok.destroy();
  }
});

async function rawExchange(send: Buffer, ms: number): Promise<{ closed: boolean; received: Buffer }> {
  const s = net.connect(seed.node.port, '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', () => {});
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(send);
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  s.destroy();
  return { closed, received: Buffer.concat(chunks) };
}

hostile('handshake for an unknown info_hash: closed without a handshake answer', async () => {
  const r = await rawExchange(encodeHandshake(randomBytes(20), clientPeerId()), 2000);
  assert.equal(r.closed, true);
  assert.equal(r.received.length, 0);
});

/** Starts with a BitTorrent handshake (an MSE answer, random bytes, does not). */
const BT_PREFIX = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol', 'latin1')]);
const btAnswer = (b: Buffer) => b.length >= 20 && b.subarray(0, 20).equals(BT_PREFIX);

hostile('handshake with a wrong protocol string: never a BitTorrent answer; closed once MSE cannot make sense of it', async () => {
  // Not a plain handshake, so possibly an MSE opening (a random DH key): MSE answers with its own
  // key, then gives up once no synchronisation marker comes within its bound (628 bytes).
  const tail = randomBytes(700);
  const wrong = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocoX', 'latin1'), Buffer.alloc(8), seed.meta.infoHash, clientPeerId(), tail]);
  const garbage = Buffer.concat([Buffer.from([19]), randomBytes(67), tail]);
  // Byte 19, then a real handshake's bytes shifted by one.
  const shifted = Buffer.concat([Buffer.from([19]), encodeHandshake(seed.meta.infoHash, clientPeerId()), tail]);
  for (const bytes of [wrong, garbage, shifted]) {
    const r = await rawExchange(bytes, 3000);
    assert.equal(r.closed, true, 'closed');
    assert.equal(btAnswer(r.received), false, 'no BitTorrent handshake in answer');
  }
});

hostile('handshake with the node’s own peer_id (a connection to itself): closed without an answer', async () => {
  const r = await rawExchange(encodeHandshake(seed.meta.infoHash, seed.node.peerId), 2000);
  assert.deepEqual(r, { closed: true, received: Buffer.alloc(0) });
});

hostile('200 random-byte garbage connections: no crash, the node still serves', async () => {
  const rss0 = process.memoryUsage().rss;
  let closedByNode = 0;
  for (let batch = 0; batch < 10; batch++) {
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        // Up to 1,000 bytes: an opening of 628 or more that is no MSE key fails MSE at once.
        const len = 1 + Math.floor(Math.random() * 1000);
        const junk = randomBytes(len);
        if ((batch * 20 + i) % 2 === 0) junk[0] = 19; // half look like a handshake at first
        else if (junk[0] === 19) junk[0] = 0;
        return rawExchange(junk, 300);
      }),
    );
    closedByNode += results.filter((r) => r.closed).length;
    for (const r of results) {
      if (btAnswer(r.received)) assert.fail('a garbage connection got a handshake answer');
    }
  }
  // Long ones are refused at once (MSE finds no marker); short ones wait for more, as an MSE opening may.
  assert.ok(closedByNode > 50, `only ${closedByNode} of 200 were closed by the node`);
  const r = await httpGet(seed.node.port, `/bitfield/${seed.meta.infoHashHex}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, Bitfield.full(seed.meta.pieceCount).bytes);
  rssGrowthBelow(rss0, 50 * MiB, '200 garbage connections');
});

test('many hostile clients at once next to a normal one: only the hostile ones are closed', async () => {
  const normal = await unchokedPeer();
  try {
    const bad = await Promise.all(Array.from({ length: 10 }, () => chokedPeer()));
    bad.forEach((p, i) => p.send({ type: 'have', index: seed.meta.pieceCount + i }));
    await Promise.all(bad.map((p) => assertClosed(p, 2000, 'a bad have')));
    normal.send({ type: 'request', index: 7, begin: 0, length: BLOCK_SIZE });
    const m = await normal.waitFor(() => normal.pieces()[0], 3000, 'a block');
    assert.ok(m.block.equals(expected(seed, 7, 0, BLOCK_SIZE)), "the normal peer's block 7 is the expected bytes");
    assert.ok(!normal.closed, 'the normal peer stays connected beside the bad ones');
  } finally {
    normal.destroy();
  }
  await assertHealthy();
});

test('a client that sends only byte 19 is closed by the handshake timeout (10 s)', async () => {
  const at = await Promise.race([oneByte.closedAt, sleep(Math.max(0, oneByte.openedAt + 12_000 - Date.now())).then(() => 0)]);
  assert.ok(at > 0, 'still open 12 s after its one byte');
  assert.ok(at - oneByte.openedAt >= 9_000, `closed after ${at - oneByte.openedAt} ms`);
  await assertHealthy();
});

test('a client that connects and sends nothing is closed within the sniff timeout (15 s)', async () => {
  const at = await Promise.race([silent.closedAt, sleep(Math.max(0, silent.openedAt + 17_000 - Date.now())).then(() => 0)]);
  assert.ok(at > 0, 'still open 17 s after connecting');
  assert.ok(at - silent.openedAt >= 14_000, `closed after ${at - silent.openedAt} ms`);
  await assertHealthy();
});
