/**
 * BEP 6 (fast extension), BEP 10 (extension handshake) and BEP 21 (upload_only) at the byte level,
 * against a seeding PeerNode, with a hand-driven client that sets the reserved bits.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { allBlocks, expected, makeSeed, RawPeer, sleep, type Seed } from '../../support/wire-peer.ts';
import { reservedBytes, BLOCK_SIZE, type Message } from '../../../src/peer/wire/messages.ts';
import { decodeExtHandshake } from '../../../src/peer/wire/extensions.ts';
import { allowedFastSet } from '../../../src/peer/wire/fast.ts';
import { encode as bencode } from '../../../src/metainfo/bencode.ts';

let seed: Seed;
before(async () => {
  seed = await makeSeed();
});
after(async () => {
  await seed?.remove();
});

const FAST_EXT = reservedBytes(['fast', 'extensions']);
type Of<T extends Message['type']> = Extract<Message, { type: T }>;
const ofType = <T extends Message['type']>(p: RawPeer, t: T) => p.messages.filter((m): m is Of<T> => m.type === t);

async function fastPeer(then: Message[] = []): Promise<RawPeer> {
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash, then, FAST_EXT);
  await p.waitFor(() => ofType(p, 'extended').length > 0, 3000, 'the extension handshake');
  return p;
}

test('a fast, extended peer gets have_all (not a bitfield) and our BEP 10 handshake: upload_only, reqq, v, m', async () => {
  const p = await fastPeer();
  try {
    assert.equal(p.messages[0]?.type, 'have-all');
    assert.equal(ofType(p, 'bitfield').length, 0);
    assert.ok(p.handshake && (p.handshake.reserved[7]! & 0x04) !== 0 && (p.handshake.reserved[5]! & 0x10) !== 0, 'our handshake sets both bits');
    const ext = ofType(p, 'extended')[0]!;
    assert.equal(ext.id, 0);
    const hs = decodeExtHandshake(ext.payload);
    assert.equal(hs.uploadOnly, true, 'a seeder says upload_only');
    assert.ok((hs.reqq ?? 0) >= 500, `reqq at least 500: ${hs.reqq}`);
    assert.equal(hs.p, seed.node.port);
    assert.ok(hs.m.get('upload_only'), 'the extension handshake lists upload_only');
    assert.match(hs.v ?? '', /p2p-bittorrent/);
  } finally {
    p.destroy();
  }
});

test('choked: a request for a piece outside the allowed-fast set is rejected, one inside is served', async () => {
  const p = await fastPeer([{ type: 'have-none' }]);
  try {
    const allowed = allowedFastSet('127.0.0.1', seed.meta.infoHash, seed.meta.pieceCount);
    await p.waitFor(() => ofType(p, 'allowed-fast').length === allowed.length, 3000, 'allowed_fast messages');
    assert.deepEqual(ofType(p, 'allowed-fast').map((m) => m.index), allowed);
    const outside = [...Array(seed.meta.pieceCount).keys()].find((i) => !allowed.includes(i))!;
    p.send({ type: 'request', index: outside, begin: 0, length: BLOCK_SIZE }, { type: 'request', index: allowed[0]!, begin: 0, length: BLOCK_SIZE });
    const rej = await p.waitFor(() => ofType(p, 'reject')[0], 3000, 'a reject');
    assert.deepEqual(rej, { type: 'reject', index: outside, begin: 0, length: BLOCK_SIZE });
    const piece = await p.waitFor(() => p.pieces()[0], 3000, 'the allowed-fast block while choked');
    assert.equal(piece.index, allowed[0]);
    assert.ok(piece.block.equals(expected(seed, allowed[0]!, 0, BLOCK_SIZE)), 'the allowed-fast block is the expected bytes');
    assert.equal(ofType(p, 'unchoke').length, 0, 'still choked');
  } finally {
    p.destroy();
  }
});

test('every request gets exactly one answer, a piece or a reject, through cancels and a choke', async () => {
  const p = await fastPeer([{ type: 'have-none' }, { type: 'interested' }]);
  try {
    await p.waitFor(() => ofType(p, 'unchoke').length, 3000, 'unchoke');
    const blocks = allBlocks(seed.meta).slice(0, 60);
    const requests = blocks.map((b): Message => ({ type: 'request', ...b }));
    const cancels = blocks.slice(10, 30).map((b): Message => ({ type: 'cancel', ...b }));
    p.send(...requests, ...cancels);
    await sleep(20);
    [...seed.node.wires].find((c) => !c.closed && c.fast)?.choke();
    const key = (m: { index: number; begin: number }) => `${m.index}:${m.begin}`;
    const answered = () => [...p.pieces(), ...ofType(p, 'reject')].map(key);
    await p.waitFor(() => answered().length >= blocks.length, 5000, 'an answer for every request');
    await sleep(200);
    const got = answered().sort();
    assert.deepEqual(got, blocks.map(key).sort(), 'one answer per request, none twice');
    assert.ok(ofType(p, 'reject').length >= 1, 'cancels and the choke gave rejects');
    for (const m of p.pieces()) assert.ok(m.block.equals(expected(seed, m.index, m.begin, m.block.length)), `block ${m.index}/${m.begin}: the expected bytes`);
  } finally {
    p.destroy();
  }
});

test('fast messages from a peer that did not announce the fast extension close it', async () => {
  for (const m of [{ type: 'have-all' }, { type: 'reject', index: 0, begin: 0, length: BLOCK_SIZE }, { type: 'allowed-fast', index: 1 }] as Message[]) {
    const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash);
    p.send(m);
    await p.waitFor(() => p.closed, 3000, `a close after ${m.type}`);
  }
});

test('hostile extension handshakes (not bencode, not a dict, 100 extensions) close only that peer', async () => {
  const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x${i}`, 1]));
  for (const payload of [Buffer.from('d1:mi'), Buffer.from('li1ee'), bencode({ m: many })]) {
    const p = await fastPeer();
    p.send({ type: 'extended', id: 0, payload });
    await p.waitFor(() => p.closed, 3000, 'a close');
  }
  const ok = await fastPeer([{ type: 'extended', id: 0, payload: bencode({ m: { ut_pex: 1 }, v: 'test' }) }, { type: 'extended', id: 77, payload: Buffer.from('junk') }]);
  try {
    await sleep(200);
    assert.equal(ok.closed, false, 'a sane handshake and an unknown sub-id are fine');
  } finally {
    ok.destroy();
  }
});

test('BEP 21: a seed drops a peer that says have_all, or upload_only in its handshake', async () => {
  const a = await fastPeer([{ type: 'have-all' }]);
  await a.waitFor(() => a.closed, 3000, 'have_all from a peer: both seeds, closed');
  const b = await fastPeer([{ type: 'have-none' }, { type: 'extended', id: 0, payload: bencode({ m: { upload_only: 3 }, upload_only: 1 }) }]);
  await b.waitFor(() => b.closed, 3000, 'upload_only: closed');
});
