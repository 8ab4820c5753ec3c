/**
 * Hostile openings at a PeerNode's TCP port (issue #15): garbage, MSE with a wrong VC, PadC over
 * 512, an unknown SKEY, stalled handshakes, 200 half MSE openings from one address, and the
 * `--encryption` policies. Each bad connection must be closed within a bound without a
 * BitTorrent handshake ever answered to it, and a normal client, plain and encrypted, must be
 * served an exact block right after. The uTP side is in transports-hostile-utp.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import { BLOCK_SIZE, encodeHandshake } from '../../src/peer/wire/messages.ts';
import { createKeyPair } from '../../src/peer/mse/dh.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import type { EncryptionPolicy } from '../../src/peer/transport-options.ts';
import { clientPeerId, expected, makeSeed, sleep, until, type Seed } from '../support/wire-peer.ts';
import { BT_HEADER, fetchBlock, fetchBlockMse, hostileMse, MAX_DH_REPLY, tcpConnect, watch, type Watched } from '../support/transport-clients.ts';
import { rawInitiator, type RawFields } from './mse/raw-mse.ts';

const MiB = 1024 * 1024;
const WANT = { index: 5, begin: BLOCK_SIZE, length: BLOCK_SIZE };
let seed: Seed;
/** `address:port` of every incoming connection some node answered a BitTorrent handshake to. */
const answered = new Set<string>();

const endpoint = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }) => `${s.remoteAddress}:${s.remotePort}`;
const localEnd = (s: net.Socket) => `${s.localAddress}:${s.localPort}`;

/** Stalled connections, opened first so that their 10 s deadlines run while the other cases do. */
interface Stall {
  openedAt: number;
  w: Watched;
  socket: net.Socket;
}
let stalls: Record<'dhKey' | 'partialKey' | 'slowMse', Stall>;

async function stall(send: (s: net.Socket, w: Watched) => Promise<void> | void): Promise<Stall> {
  const socket = await tcpConnect(seed.node.port);
  const w = watch(socket);
  const openedAt = Date.now();
  await send(socket, w);
  return { openedAt, w, socket };
}

before(async () => {
  seed = await makeSeed();
  seed.node.onWire((c) => answered.add(endpoint(c.socket)));
  stalls = {
    // A whole DH key, then nothing: the MSE deadline.
    dhKey: await stall((s) => void s.write(createKeyPair().publicKey)),
    // 20 bytes, enough for the sniffer to say MSE, then nothing.
    partialKey: await stall((s) => void s.write(createKeyPair().publicKey.subarray(0, 20))),
    // Ya at once, the rest of a valid MSE handshake (IA empty) after 8 s, then no BitTorrent handshake.
    slowMse: await stall((s) => {
      const fields: RawFields = { infoHash: seed.meta.infoHash };
      void hostileMseLater(s, fields, 8000);
    }),
  };
});

/** The opening now, the third message after `delayMs` (the node's Yb is in by then). */
async function hostileMseLater(s: net.Socket, fields: RawFields, delayMs: number): Promise<void> {
  const raw = rawInitiator(fields);
  const got: Buffer[] = [];
  s.on('data', (c: Buffer) => got.push(c));
  s.write(raw.opening);
  await sleep(delayMs);
  if (!s.destroyed) s.write(raw.third(Buffer.concat(got)).bytes);
}

after(async () => {
  for (const s of Object.values(stalls ?? {})) s.socket.destroy();
  await seed?.remove();
});

/** A normal client from `localAddress`, plain then encrypted (RC4), each served the block exact. */
async function assertServed(port = seed.node.port, localAddress = '127.0.0.1'): Promise<void> {
  const plain = await tcpConnect(port, localAddress);
  try {
    const block = await fetchBlock(plain, seed.meta.infoHash, WANT);
    assert.ok(block.equals(expected(seed, WANT.index, WANT.begin, WANT.length)), 'plain client: block exact');
  } finally {
    plain.destroy();
  }
  const enc = await tcpConnect(port, localAddress);
  try {
    const { block, selected } = await fetchBlockMse(enc, seed.meta.infoHash, WANT);
    assert.equal(selected, 'rc4');
    assert.ok(block.equals(expected(seed, WANT.index, WANT.begin, WANT.length)), 'encrypted client: block exact');
  } finally {
    enc.destroy();
  }
}

/** When `w` closed, or Infinity if still open at `deadline` (a Date.now() time). */
async function closedBy(w: Watched, deadline: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(Infinity), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([w.closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closed by the node within `ms` of `t0`, nothing of a BitTorrent handshake sent to it. */
async function assertRefused(w: Watched, socket: net.Socket, t0: number, ms: number, what: string, maxBytes = MAX_DH_REPLY): Promise<number> {
  const closedAt = await closedBy(w, t0 + ms + 500);
  socket.destroy();
  const took = closedAt - t0;
  assert.ok(took <= ms, `${what}: closed after ${took} ms (bound ${ms} ms)`);
  assert.ok(w.bytesIn <= maxBytes, `${what}: the node sent ${w.bytesIn} bytes (at most ${maxBytes})`);
  assert.equal(w.received.indexOf(BT_HEADER), -1, `${what}: no BitTorrent handshake in the clear`);
  assert.ok(!answered.has(localEnd(socket)), `${what}: no handshake answered`);
  return took;
}

/** One connection that sends `bytes`, refused within `ms`. */
async function refusedOpening(bytes: Buffer, ms: number, what: string, maxBytes?: number): Promise<void> {
  const socket = await tcpConnect(seed.node.port);
  const w = watch(socket);
  const t0 = Date.now();
  socket.write(bytes);
  await assertRefused(w, socket, t0, ms, what, maxBytes);
}

/** One hostile MSE opening (`fields` over a valid one for our torrent), refused within `ms`. */
async function refusedMse(fields: Partial<RawFields>, ms: number, what: string, port = seed.node.port): Promise<Watched> {
  const socket = await tcpConnect(port);
  const t0 = Date.now();
  const w = await hostileMse(socket, { infoHash: seed.meta.infoHash, ...fields });
  await assertRefused(w, socket, t0, ms, what);
  return w;
}

test('the node serves a normal client, plain and encrypted', async () => {
  await assertServed();
});

test('garbage of 700+ bytes, in three shapes: closed at once, never answered; others served', async () => {
  await refusedOpening(Buffer.concat([Buffer.from([0]), randomBytes(799)]), 2000, 'random garbage (read as an MSE opening)');
  // Byte 19 and a wrong protocol name: not plain, so MSE, whose sync window it then fails.
  await refusedOpening(Buffer.concat([Buffer.from('\x13BitTorrent protocoX', 'latin1'), randomBytes(700)]), 2000, 'a near-miss header');
  // A real header naming no torrent of ours, then garbage: the handshake is refused, not answered.
  await refusedOpening(Buffer.concat([encodeHandshake(randomBytes(20), clientPeerId()), randomBytes(700)]), 2000, 'a plain handshake for an unknown torrent', 0);
  await refusedOpening(randomBytes(256 * 1024).fill(7, 0, 1), 2000, '256 KiB of garbage');
  await assertServed();
});

test('MSE openings with one thing wrong: wrong VC, PadC over 512, unknown SKEY, IA over 1 KiB, no sync hash', async () => {
  await refusedMse({ vc: Buffer.from('notzeros') }, 2000, 'a wrong VC');
  await refusedMse({ padCLength: 513 }, 2000, 'PadC of 513');
  await refusedMse({ padCLength: 0xffff, padCBytes: 600 }, 2000, 'PadC of 65535');
  await refusedMse({ infoHash: randomBytes(20) }, 2000, 'an unknown info_hash (SKEY)');
  await refusedMse({ ia: randomBytes(2000) }, 2000, 'IA of 2000 bytes');
  await refusedMse({ beforeReq1: 600 }, 2000, 'HASH(req1) beyond the 512-byte window');
  await refusedMse({ provide: 0 }, 2000, 'crypto_provide offering nothing');
  await assertServed();
});

test('200 concurrent half MSE openings from one address: its slots hold, a second address is served', async () => {
  const rss0 = process.memoryUsage().rss;
  const flood = await Promise.all(Array.from({ length: 200 }, () => tcpConnect(seed.node.port)));
  const watched = flood.map(watch);
  for (const s of flood) s.write(Buffer.concat([Buffer.from([1]), randomBytes(95)])); // a DH key, then silence
  try {
    // Every one is either answered Yb (holding a wire slot) or closed by the node at once.
    await until(() => watched.every((w) => w.bytesIn >= 96 || w.closedAt !== undefined), 5000, 'an answer or a close for each opening');
    const held = watched.filter((w) => w.closedAt === undefined).length;
    const wire = seed.node.connections.wire;
    assert.ok(wire <= 100, `one address holds ${wire} wire slots of 200 (at most half)`);
    assert.ok(held >= 50 && held <= 100, `${held} half openings held`);
    assert.ok(watched.every((w) => w.bytesIn <= MAX_DH_REPLY), 'nothing beyond Yb and PadB to any of them');
    // Its own address is now at its share: a further client from it is dropped unanswered.
    await refusedOpening(encodeHandshake(seed.meta.infoHash, clientPeerId()), 2000, 'a client from the flooding address', 0);
    await assertServed(seed.node.port, '127.0.0.2');
    const grew = process.memoryUsage().rss - rss0;
    assert.ok(grew < 64 * MiB, `rss grew by ${(grew / MiB).toFixed(1)} MiB`);
  } finally {
    for (const s of flood) s.destroy();
  }
  await until(() => seed.node.connections.wire <= 3, 3000, 'the flood to free its slots (the stalls may hold 3)');
  await assertServed();
});

/** A node with `encryption` sharing the seed's torrent. */
async function nodeWith(encryption: EncryptionPolicy): Promise<PeerNode> {
  const node = new PeerNode({ encryption, transport: 'tcp' });
  node.share({ meta: seed.meta, store: seed.store, have: Bitfield.full(seed.meta.pieceCount) });
  node.onWire((c) => answered.add(endpoint(c.socket)));
  await node.listen(0, '127.0.0.1');
  return node;
}

test("encryption 'require': a plain handshake is closed unanswered, plaintext-only MSE is refused, RC4 is served", async () => {
  const node = await nodeWith('require');
  try {
    const socket = await tcpConnect(node.port);
    const w = watch(socket);
    const t0 = Date.now();
    socket.write(encodeHandshake(seed.meta.infoHash, clientPeerId()));
    await assertRefused(w, socket, t0, 2000, 'a plain handshake under require', 0);
    await refusedMse({ provide: 0x01 }, 2000, 'MSE offering plaintext only, under require', node.port);
    const enc = await tcpConnect(node.port);
    const { block, selected } = await fetchBlockMse(enc, seed.meta.infoHash, WANT, 'require');
    enc.destroy();
    assert.equal(selected, 'rc4');
    assert.ok(block.equals(expected(seed, WANT.index, WANT.begin, WANT.length)), 'the block over MSE (rc4) is the expected bytes');
  } finally {
    await node.close();
  }
});

test("encryption 'off': an MSE opening is closed with not a byte sent, plain is served", async () => {
  const node = await nodeWith('off');
  try {
    const socket = await tcpConnect(node.port);
    const t0 = Date.now();
    const w = await hostileMse(socket, { infoHash: seed.meta.infoHash });
    await assertRefused(w, socket, t0, 2000, 'MSE under off', 0);
    const plain = await tcpConnect(node.port);
    const block = await fetchBlock(plain, seed.meta.infoHash, WANT);
    plain.destroy();
    assert.ok(block.equals(expected(seed, WANT.index, WANT.begin, WANT.length)), 'the block over plain TCP is the expected bytes');
  } finally {
    await node.close();
  }
});

test('a DH key then silence, and 20 bytes of one then silence: closed by the 10 s handshake deadline', async () => {
  for (const [name, s] of [['a DH key', stalls.dhKey], ['20 bytes of a key', stalls.partialKey]] as const) {
    const took = await assertRefused(s.w, s.socket, s.openedAt, 11_500, name);
    assert.ok(took >= 9_500, `${name}: closed after ${took} ms, not before the deadline`);
  }
  await assertServed();
});

test(
  'a slow but valid MSE handshake then no BitTorrent handshake: closed 10 s after the first byte',
  async () => {
    const s = stalls.slowMse;
    // Wait for the node's own close (one deadline from the first byte), then judge it.
    await closedBy(s.w, s.openedAt + 25_000);
    // Yb, PadB and ENCRYPT(VC, crypto_select, len(PadD)): the MSE half was answered, not BitTorrent.
    await assertRefused(s.w, s.socket, s.openedAt, 11_500, 'a slow MSE handshake', MAX_DH_REPLY + 14);
  },
);
