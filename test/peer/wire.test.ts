/**
 * BitTorrent peer wire protocol (BEP 3): the pure framing in messages.ts, the bitfield, a real
 * PeerNode spoken to by hand over loopback (handshake, bitfield, unchoke, blocks, pipelining,
 * cancel, HTTP on the same port), and two PeerNodes where a WireSource feeds a Downloader.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  BLOCK_SIZE,
  decodeHandshake,
  decodeMessage,
  encode,
  encodeHandshake,
  HANDSHAKE_LENGTH,
  MessageParser,
  PROTOCOL,
  WireError,
  type Message,
} from '../../src/peer/wire/messages.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import type { WireConnection } from '../../src/peer/wire/connection.ts';
import { PieceStore } from '../../src/storage/piece-store.ts';
import { storageFiles } from '../../src/storage/layout.ts';
import { Downloader, DEFAULT_DOWNLOADER_OPTIONS } from '../../src/download/downloader.ts';
import { WireSource } from '../../src/download/sources/wire-source.ts';
import { tempDir } from '../support/procs.ts';

import { sleep, until, clientPeerId, RawPeer, type Seed, PIECE, makeSeed, expected, allBlocks, httpGet } from '../support/wire-peer.ts';

// ------------------------------------------------------------------------------- messages.ts

const SAMPLES: Message[] = [
  { type: 'keep-alive' },
  { type: 'choke' },
  { type: 'unchoke' },
  { type: 'interested' },
  { type: 'not-interested' },
  { type: 'have', index: 0 },
  { type: 'have', index: 0xfffffffe },
  { type: 'bitfield', bits: Buffer.from([0xff, 0x80]) },
  { type: 'bitfield', bits: Buffer.alloc(0) },
  { type: 'request', index: 3, begin: 16384, length: 16384 },
  { type: 'piece', index: 7, begin: 32768, block: randomBytes(BLOCK_SIZE) },
  { type: 'piece', index: 1, begin: 0, block: Buffer.alloc(0) },
  { type: 'cancel', index: 9, begin: 0, length: 3616 },
  { type: 'port', port: 6881 },
  { type: 'extended', id: 0, payload: Buffer.from('d1:md11:ut_metadatai1eee') },
  { type: 'suggest', index: 4 },
  { type: 'have-all' },
  { type: 'have-none' },
  { type: 'reject', index: 2, begin: 16384, length: 16384 },
  { type: 'allowed-fast', index: 9 },
  { type: 'unknown', id: 18 },
  { type: 'unknown', id: 255 },
];

test('messages: encode/decode round trip of every message type', () => {
  for (const m of SAMPLES) {
    const b = encode(m);
    assert.equal(b.readUInt32BE(0), b.length - 4, `length prefix of ${m.type}`);
    assert.deepEqual(decodeMessage(b.subarray(4)), m, m.type);
  }
  // Exact wire bytes of a few, as BEP 3 lays them out.
  assert.deepEqual(encode({ type: 'keep-alive' }), Buffer.from([0, 0, 0, 0]));
  assert.deepEqual(encode({ type: 'interested' }), Buffer.from([0, 0, 0, 1, 2]));
  assert.deepEqual(encode({ type: 'have', index: 258 }), Buffer.from([0, 0, 0, 5, 4, 0, 0, 1, 2]));
  assert.deepEqual(encode({ type: 'request', index: 1, begin: 2, length: 3 }), Buffer.from([0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]));
  assert.deepEqual(encode({ type: 'cancel', index: 1, begin: 2, length: 3 }).subarray(4, 5), Buffer.from([8]));
  assert.deepEqual(encode({ type: 'port', port: 0x1ae1 }), Buffer.from([0, 0, 0, 3, 9, 0x1a, 0xe1]));
});

test('messages: handshake encode/decode', () => {
  const infoHash = randomBytes(20);
  const peerId = clientPeerId();
  const reserved = Buffer.from([0, 0, 0, 0, 0, 0x10, 0, 0x05]);
  const b = encodeHandshake(infoHash, peerId, reserved);
  assert.equal(b.length, HANDSHAKE_LENGTH);
  assert.equal(b[0], 19);
  assert.deepEqual(b.subarray(1, 20), PROTOCOL);
  assert.equal(b.subarray(1, 20).toString('latin1'), 'BitTorrent protocol');
  const hs = decodeHandshake(b);
  assert.deepEqual(hs.infoHash, infoHash);
  assert.deepEqual(hs.peerId, peerId);
  assert.deepEqual(hs.reserved, reserved);
  assert.deepEqual(decodeHandshake(encodeHandshake(infoHash, peerId)).reserved, Buffer.alloc(8));
  // Extra bytes after the 68 are not part of it.
  assert.deepEqual(decodeHandshake(Buffer.concat([b, Buffer.from([1, 2, 3])])).peerId, peerId);
});

test('messages: decodeHandshake rejects a wrong protocol string or length', () => {
  const good = encodeHandshake(randomBytes(20), clientPeerId());
  assert.throws(() => decodeHandshake(good.subarray(0, 67)), WireError);
  assert.throws(() => decodeHandshake(Buffer.alloc(0)), WireError);
  const wrongLen = Buffer.from(good);
  wrongLen[0] = 18;
  assert.throws(() => decodeHandshake(wrongLen), WireError);
  const wrongStr = Buffer.from(good);
  wrongStr[5] = wrongStr[5]! ^ 0x20; // 'BitTorrent' -> 'BitTOrrent'
  assert.throws(() => decodeHandshake(wrongStr), WireError);
  assert.throws(() => decodeHandshake(Buffer.concat([Buffer.from([19]), randomBytes(67)])), WireError);
  assert.throws(() => decodeHandshake(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + 'x'.repeat(60))), WireError);
});

test('MessageParser: every message split at every byte boundary (1 byte at a time)', () => {
  const stream = Buffer.concat(SAMPLES.map(encode));
  const p = new MessageParser({ maxMessage: 64 * 1024 });
  const out: Message[] = [];
  for (let i = 0; i < stream.length; i++) out.push(...p.push(stream.subarray(i, i + 1)));
  assert.deepEqual(out, SAMPLES);
  // And at every single split point of the stream into two chunks.
  const small = Buffer.concat(SAMPLES.filter((m) => m.type !== 'piece').map(encode));
  const expectedSmall = SAMPLES.filter((m) => m.type !== 'piece');
  for (let cut = 0; cut <= small.length; cut++) {
    const q = new MessageParser({ maxMessage: 64 * 1024 });
    assert.deepEqual([...q.push(small.subarray(0, cut)), ...q.push(small.subarray(cut))], expectedSmall, `cut at ${cut}`);
  }
});

test('MessageParser: many messages in one chunk, keep-alives included', () => {
  const ms: Message[] = [];
  for (let i = 0; i < 2000; i++) {
    ms.push({ type: 'have', index: i });
    if (i % 7 === 0) ms.push({ type: 'keep-alive' });
    if (i % 100 === 0) ms.push({ type: 'piece', index: i, begin: 0, block: randomBytes(100) });
  }
  const p = new MessageParser({ maxMessage: 1024 });
  assert.deepEqual(p.push(Buffer.concat(ms.map(encode))), ms);
  // A trailing partial message waits for the rest.
  const q = new MessageParser({ maxMessage: 1024 });
  const two = Buffer.concat([encode({ type: 'keep-alive' }), encode({ type: 'have', index: 5 })]);
  assert.deepEqual(q.push(two.subarray(0, 6)), [{ type: 'keep-alive' }]);
  assert.deepEqual(q.push(two.subarray(6)), [{ type: 'have', index: 5 }]);
  assert.deepEqual(new MessageParser({ maxMessage: 1 }).push(Buffer.alloc(4)), [{ type: 'keep-alive' }]);
});

test('MessageParser: a length prefix over maxMessage throws WireError before any buffering', () => {
  const p = new MessageParser({ maxMessage: 16 * 1024 + 9 });
  assert.throws(() => p.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), WireError);
  // Byte by byte: the 4th byte of the prefix throws.
  const q = new MessageParser({ maxMessage: 1000 });
  assert.deepEqual(q.push(Buffer.from([0xff])), []);
  assert.deepEqual(q.push(Buffer.from([0xff])), []);
  assert.deepEqual(q.push(Buffer.from([0xff])), []);
  assert.throws(() => q.push(Buffer.from([0xff])), WireError);
  // The boundary: maxMessage is accepted (waits for the body), maxMessage + 1 is not.
  const r = new MessageParser({ maxMessage: 1000 });
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(1000);
  assert.deepEqual(r.push(prefix), []);
  assert.deepEqual(r.push(Buffer.concat([Buffer.from([20]), Buffer.alloc(999)])), [{ type: 'extended', id: 0, payload: Buffer.alloc(998) }]);
  prefix.writeUInt32BE(1001);
  assert.throws(() => new MessageParser({ maxMessage: 1000 }).push(prefix), WireError);
  // Also after good messages in the same chunk.
  const s = new MessageParser({ maxMessage: 1000 });
  assert.throws(() => s.push(Buffer.concat([encode({ type: 'unchoke' }), Buffer.from([0x7f, 0xff, 0xff, 0xff])])), WireError);
});

test('messages: wrong payload sizes for fixed-size messages throw WireError', () => {
  const body = (id: number, n: number) => Buffer.concat([Buffer.from([id]), Buffer.alloc(n)]);
  const bad: Array<[string, Buffer]> = [
    ['choke+1', body(0, 1)],
    ['unchoke+1', body(1, 1)],
    ['interested+4', body(2, 4)],
    ['not-interested+1', body(3, 1)],
    ['have 3', body(4, 3)],
    ['have 5', body(4, 5)],
    ['have 0', body(4, 0)],
    ['request 11', body(6, 11)],
    ['request 13', body(6, 13)],
    ['request 0', body(6, 0)],
    ['piece 7', body(7, 7)],
    ['piece 0', body(7, 0)],
    ['cancel 12+1', body(8, 13)],
    ['cancel 4', body(8, 4)],
    ['port 1', body(9, 1)],
    ['port 3', body(9, 3)],
  ];
  for (const [what, b] of bad) {
    assert.throws(() => decodeMessage(b), WireError, what);
    const frame = Buffer.concat([Buffer.alloc(4), b]);
    frame.writeUInt32BE(b.length, 0);
    assert.throws(() => new MessageParser({ maxMessage: 1000 }).push(frame), WireError, `${what} through the parser`);
  }
});

test('Bitfield: spare bits set or a wrong length throw; a good one reads back', () => {
  assert.throws(() => new Bitfield(10, Buffer.from([0xff, 0xe0])), /past the last piece/); // bit 10 set
  assert.throws(() => new Bitfield(10, Buffer.from([0xff, 0x01])));
  assert.throws(() => new Bitfield(1, Buffer.from([0x40])));
  assert.throws(() => new Bitfield(10, Buffer.from([0xff])), /bytes/);
  assert.throws(() => new Bitfield(10, Buffer.from([0xff, 0xc0, 0x00])), /bytes/);
  assert.throws(() => new Bitfield(8, Buffer.alloc(0)));
  const b = new Bitfield(10, Buffer.from([0x81, 0xc0]));
  assert.deepEqual([...Array(10).keys()].filter((i) => b.has(i)), [0, 7, 8, 9]);
  assert.equal(b.count, 4);
  assert.equal(b.complete, false);
  const full8 = new Bitfield(8, Buffer.from([0xff])); // no spare bits at all
  assert.equal(full8.complete, true);
  const f = Bitfield.full(13);
  assert.deepEqual(f.bytes, Buffer.from([0xff, 0xf8]));
  assert.equal(f.has(13), false);
  assert.equal(f.has(-1), false);
  assert.equal(new Bitfield(0).bytes.length, 0);
});

// ------------------------------------------------------------------------- a real PeerNode

let seed: Seed;

before(async () => {
  seed = await makeSeed();
});

after(async () => {
  await seed?.remove();
});

test('PeerNode: handshake answered for the same info_hash with a -NB0001- peer_id, then our bitfield', async () => {
  assert.equal(seed.meta.pieceCount, 17);
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash);
  try {
    assert.deepEqual(p.handshake!.infoHash, seed.meta.infoHash);
    assert.equal(p.handshake!.peerId.length, 20);
    assert.equal(p.handshake!.peerId.subarray(0, 8).toString('latin1'), '-NB0001-');
    assert.deepEqual(p.handshake!.peerId, seed.node.peerId);
    const bf = await p.waitFor(() => p.messages.find((m) => m.type === 'bitfield'), 3000, 'the bitfield');
    assert.deepEqual(bf, { type: 'bitfield', bits: Bitfield.full(17).bytes });
    assert.equal(p.messages[0]!.type, 'bitfield', 'the bitfield is the first message');
    assert.equal(p.bytesIn, HANDSHAKE_LENGTH + 4 + 1 + 3);
    // Still choked: nothing more until we are interested.
    await sleep(100);
    assert.equal(p.messages.length, 1);
  } finally {
    p.destroy();
  }
});

test('PeerNode: interested gets an unchoke; 16 KiB blocks and the short last block come back exact', async () => {
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash, [{ type: 'interested' }]);
  try {
    await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke');
    const last = seed.meta.pieceCount - 1;
    const reqs = [
      { index: 0, begin: 0, length: BLOCK_SIZE },
      { index: 0, begin: 3 * BLOCK_SIZE, length: BLOCK_SIZE },
      { index: 9, begin: BLOCK_SIZE, length: BLOCK_SIZE },
      { index: last, begin: 0, length: BLOCK_SIZE },
      { index: last, begin: BLOCK_SIZE, length: 20_000 - BLOCK_SIZE }, // the short last block
      { index: 4, begin: 123, length: 1 }, // odd sub-block requests are fine too
    ];
    p.send(...reqs.map((r) => ({ type: 'request' as const, ...r })));
    await p.waitFor(() => p.pieces().length === reqs.length, 5000, 'all blocks');
    for (const [i, r] of reqs.entries()) {
      const m = p.pieces()[i]!;
      assert.equal(m.index, r.index);
      assert.equal(m.begin, r.begin);
      assert.equal(m.block.length, r.length);
      assert.ok(m.block.equals(expected(seed, r.index, r.begin, r.length)), `bytes of ${r.index}/${r.begin}`);
    }
    assert.ok(!p.closed, 'the connection is still open');
  } finally {
    p.destroy();
  }
});

test('PeerNode: interested sent in the same write as the handshake gets an unchoke at once', async () => {
  // Messages that ride along with the handshake must reach the choker like any other.
  const p = await RawPeer.connect(seed.node.port);
  try {
    const t0 = Date.now();
    p.write(Buffer.concat([encodeHandshake(seed.meta.infoHash, clientPeerId()), encode({ type: 'interested' })]));
    await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 1500, 'unchoke');
    assert.ok(Date.now() - t0 < 1000, 'unchoked at once, not at the next choker round');
    assert.equal(p.messages[0]!.type, 'bitfield', 'our bitfield still comes first');
    p.send({ type: 'request', index: 2, begin: 0, length: BLOCK_SIZE });
    const m = await p.waitFor(() => p.pieces()[0], 3000, 'a block');
    assert.ok(m.block.equals(expected(seed, 2, 0, BLOCK_SIZE)), 'bytes of block 2/0');
  } finally {
    p.destroy();
  }
});

test('PeerNode: requests sent while choked are dropped, not queued for later', async () => {
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash);
  try {
    await p.waitFor(() => p.messages.some((m) => m.type === 'bitfield'), 3000, 'bitfield');
    p.send({ type: 'request', index: 1, begin: 0, length: BLOCK_SIZE });
    await sleep(150);
    assert.equal(p.pieces().length, 0);
    p.send({ type: 'interested' });
    await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke');
    p.send({ type: 'request', index: 2, begin: 0, length: BLOCK_SIZE });
    const m = await p.waitFor(() => p.pieces()[0], 3000, 'a block');
    assert.deepEqual([m.index, m.begin], [2, 0], 'the block asked for while choked never comes');
    assert.ok(m.block.equals(expected(seed, 2, 0, BLOCK_SIZE)), 'bytes of block 2/0');
  } finally {
    p.destroy();
  }
});

test('PeerNode: 500 requests pipelined at once are all answered, exact', async () => {
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash, [{ type: 'interested' }]);
  try {
    await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke');
    const blocks = allBlocks(seed.meta);
    assert.equal(blocks.length, 16 * 4 + 2);
    const reqs = Array.from({ length: 500 }, (_, i) => blocks[i % blocks.length]!);
    p.send(...reqs.map((r) => ({ type: 'request' as const, ...r })));
    await p.waitFor(() => p.pieces().length >= 500, 10_000, '500 blocks');
    await sleep(50);
    const got = p.pieces();
    assert.equal(got.length, 500);
    // Answered in order, every byte right.
    for (const [i, r] of reqs.entries()) {
      const m = got[i]!;
      assert.deepEqual([m.index, m.begin, m.block.length], [r.index, r.begin, r.length], `answer ${i}`);
      assert.ok(m.block.equals(expected(seed, r.index, r.begin, r.length)), `bytes of answer ${i}`);
    }
    assert.ok(!p.closed, 'the connection is still open');
  } finally {
    p.destroy();
  }
});

test('PeerNode: cancel of a queued request is honoured, the rest are answered', async () => {
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash, [{ type: 'interested' }]);
  try {
    await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke');
    const blocks = allBlocks(seed.meta);
    const reqs = Array.from({ length: 300 }, (_, i) => blocks[i % blocks.length]!);
    const cancelled = { index: 5, begin: 100, length: 1000 }; // unique: no other request looks like it
    const marker = { index: 0, begin: 7, length: 7 };
    p.send(
      ...reqs.map((r) => ({ type: 'request' as const, ...r })),
      { type: 'request', ...cancelled },
      { type: 'cancel', ...cancelled },
      { type: 'request', ...marker },
    );
    // Served first in, first out: once the marker is here, everything before it was served or dropped.
    await p.waitFor(() => p.pieces().some((m) => m.index === 0 && m.begin === 7), 10_000, 'the marker block');
    const got = p.pieces();
    const answeredCancelled = got.filter((m) => m.index === 5 && m.begin === 100).length;
    assert.ok(answeredCancelled <= 1, `the cancelled request was answered ${answeredCancelled} times`);
    assert.equal(got.length, 300 + answeredCancelled + 1);
    for (const [i, r] of reqs.entries()) {
      assert.deepEqual([got[i]!.index, got[i]!.begin], [r.index, r.begin]);
      assert.ok(got[i]!.block.equals(expected(seed, r.index, r.begin, r.length)), `bytes of answer ${i}`);
    }
    // Sent in the same write as 300 requests ahead of it, the cancel reaches the queue in time.
    assert.equal(answeredCancelled, 0, 'the cancelled request was still queued: it must not be answered');
    // A cancel for something never requested is harmless.
    p.send({ type: 'cancel', index: 1, begin: 0, length: BLOCK_SIZE }, { type: 'request', index: 1, begin: 0, length: BLOCK_SIZE });
    await p.waitFor(() => p.pieces().length === got.length + 1, 3000, 'one more block');
    assert.ok(!p.closed, 'the connection is still open');
  } finally {
    p.destroy();
  }
});

test('PeerNode: HTTP still works on the same port as the wire protocol', async () => {
  const wire = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash);
  try {
    const r = await httpGet(seed.node.port, `/bitfield/${seed.meta.infoHashHex}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, Bitfield.full(seed.meta.pieceCount).bytes);
    const piece = await httpGet(seed.node.port, `/piece/${seed.meta.infoHashHex}/3`);
    assert.equal(piece.status, 200);
    assert.ok(piece.body.equals(expected(seed, 3, 0, PIECE)), 'bytes of piece 3 over HTTP');
    const missing = await httpGet(seed.node.port, `/bitfield/${'0'.repeat(40)}`);
    assert.equal(missing.status, 404);
    assert.ok(!wire.closed, 'the wire connection next to it is untouched');
  } finally {
    wire.destroy();
  }
});

// --------------------------------------------------------------- two PeerNodes, a Downloader

interface Leech {
  node: PeerNode;
  store: PieceStore;
  have: Bitfield;
  conn: WireConnection;
  /** The seeder's connection for this leecher. */
  seederSide: WireConnection;
  remove(): Promise<void>;
}

async function makeLeech(): Promise<Leech> {
  const { dir, remove } = await tempDir('wire-leech-');
  const store = await PieceStore.openForWriting(storageFiles(seed.meta, dir, '.part'));
  // Start the process's writer thread now, not at the first piece inside a timed download (under
  // tsx a boot compiles its module: 0.3-1 s, more when loaded). A no-op once it runs: the thread
  // is shared and outlives the last closed store by 2 s. Writes back the byte already there.
  await store.write(0, await store.read(0, 1));
  const have = new Bitfield(seed.meta.pieceCount);
  const node = new PeerNode();
  node.share({ meta: seed.meta, store, have });
  await node.listen(0, '127.0.0.1');
  const incoming = new Promise<WireConnection>((resolve) => seed.node.onWire((c) => c.peerId.equals(node.peerId) && resolve(c)));
  const conn = await node.dial('127.0.0.1', seed.node.port, seed.meta.infoHashHex);
  const seederSide = await incoming;
  return {
    node,
    store,
    have,
    conn,
    seederSide,
    async remove() {
      await node.close();
      await store.close();
      await remove();
    },
  };
}

test('two PeerNodes: a WireSource feeds a Downloader to the exact bytes; the seeder sees every have', async () => {
  const l = await makeLeech();
  try {
    assert.deepEqual(l.conn.peerId, seed.node.peerId);
    assert.equal(l.conn.peerHave.complete, true, 'the seeder sent its bitfield with the handshake');
    assert.equal(l.seederSide.peerHave.count, 0, 'an empty leecher sends no bitfield');
    const events: string[] = [];
    const dl = new Downloader(seed.meta, l.store, l.have, { ...DEFAULT_DOWNLOADER_OPTIONS, stallTimeoutMs: 10_000 }, {
      onPiece: (i) => l.node.pieceVerified(seed.meta.infoHashHex, i),
      onSourceDropped: (s, reason) => events.push(`dropped ${s.label}: ${reason}`),
    });
    const source = new WireSource(l.conn, 'seeder', 10_000);
    assert.equal(dl.addSource(source), true);
    assert.equal(dl.addSource(new WireSource(l.conn, 'seeder again', 10_000)), false, 'the same peer_id is not added twice');
    await dl.run();
    assert.deepEqual(events, []);
    assert.equal(l.have.complete, true);
    const got = await l.store.read(0, seed.meta.length);
    assert.ok(got.equals(seed.data), 'downloaded bytes equal the original');
    assert.equal(dl.downloadedBytes, seed.meta.length);
    assert.equal(l.conn.downloaded, seed.meta.length, 'no block was fetched twice');
    // Every verified piece was announced with a have: the seeder's view of the leecher is complete.
    await until(() => l.seederSide.peerHave.complete, 3000, 'the seeder to see all haves');
    assert.equal(l.seederSide.uploaded, seed.meta.length);
    // Done downloading: two seeds have nothing to trade (BEP 21), so the seeder closes once the
    // last HAVE makes the leecher a seed (before our not-interested, sent just after it, is read).
    await until(() => l.seederSide.closed && l.conn.closed, 3000, 'both sides closed');
  } finally {
    await l.remove();
  }
});

test(
  'two PeerNodes: a choke mid-download then an unchoke (BEP 3 tit-for-tat) does not make the leecher drop the seeder',
  async () => {
    const l = await makeLeech();
    try {
      const dropped: string[] = [];
      let choked = false;
      const dl = new Downloader(seed.meta, l.store, l.have, { ...DEFAULT_DOWNLOADER_OPTIONS, stallTimeoutMs: 3000 }, {
        onPiece: (i) => {
          l.node.pieceVerified(seed.meta.infoHashHex, i);
          if (!choked && l.have.count === 3) {
            // The seeder's choker rotates slots: choke this peer, give it back a moment later.
            choked = true;
            l.seederSide.choke();
            setTimeout(() => l.seederSide.unchoke(), 300);
          }
        },
        onSourceDropped: (s, reason) => {
          dropped.push(`${s.label}: ${reason}`);
          dl.abort(new Error('the only source was dropped')); // no need to sit out the stall timeout
        },
      });
      dl.addSource(new WireSource(l.conn, 'seeder', 10_000));
      const outcome = await dl.run().then(
        () => 'completed',
        (e: Error) => `failed: ${e.message}`,
      );
      assert.ok(choked, 'the seeder choked the leecher mid-download');
      assert.deepEqual(dropped, [], 'the source was dropped because of a choke');
      assert.equal(outcome, 'completed');
      assert.ok((await l.store.read(0, seed.meta.length)).equals(seed.data), 'downloaded bytes equal the original');
    } finally {
      await l.remove();
    }
  },
);
