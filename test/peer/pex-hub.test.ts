/**
 * Peer exchange on a real PeerNode over loopback (PEX interval shortened to 400 ms through
 * P2P_PEX_INTERVAL_MS): what it tells each ut_pex peer (the others' listen ports, never the
 * receiver, not a peer that dialled in without `p`; dropped once gone; the port we dialled, with
 * the reachable flag), what it learns (handed to the listener, minus peers it dialled itself),
 * the rate limit on incoming messages, and hostile bodies (thousands of peers: cut; nesting: that
 * connection only closes).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { encode as bencode } from '../../src/metainfo/bencode.ts';
import { reservedBytes } from '../../src/peer/wire/messages.ts';
import { decodePex, encodePex, MAX_PEX_TAKE, PEX_FLAGS, type DecodedPex, type PexPeer } from '../../src/peer/wire/pex.ts';
import { OUR_EXTENSIONS } from '../../src/peer/wire/extensions.ts';
import { PEX_INTERVAL_ENV } from '../../src/peer/pex-hub.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { makeSeed, RawPeer, sleep, until, type Seed } from '../support/wire-peer.ts';

process.env[PEX_INTERVAL_ENV] = '400';
/** The sub-id our raw peers ask the node to use for ut_pex. */
const THEIR_PEX_ID = 9;
let seed: Seed;

before(async () => {
  seed = await makeSeed();
});
after(async () => {
  await seed.remove();
});

/** A raw peer that speaks BEP 10 and ut_pex, and says it listens on `listenPort` (if given). */
async function pexPeer(listenPort: number | undefined, node = seed.node): Promise<RawPeer> {
  const p = await RawPeer.handshaked(node.port, seed.meta.infoHash, [], reservedBytes(['extensions']));
  p.send({ type: 'extended', id: 0, payload: bencode({ m: { ut_pex: THEIR_PEX_ID }, p: listenPort }) });
  return p;
}

function pexOf(p: RawPeer): DecodedPex[] {
  return p.messages.flatMap((m) => (m.type === 'extended' && m.id === THEIR_PEX_ID ? [decodePex(m.payload)] : []));
}

const has = (list: PexPeer[], port: number) => list.some((x) => x.ip === '127.0.0.1' && x.port === port);

function sendPex(p: RawPeer, added: PexPeer[]): void {
  p.send({ type: 'extended', id: OUR_EXTENSIONS.ut_pex, payload: encodePex({ added, dropped: [] }) });
}

test('each ut_pex peer is told of the others by listen port, never of itself nor of a peer without `p`; a gone peer is dropped', async () => {
  const a = await pexPeer(40001);
  const b = await pexPeer(40002);
  const silent = await pexPeer(undefined); // dialled in, said no listen port: nobody can be told of it
  try {
    await a.waitFor(() => pexOf(a).some((m) => has(m.added, 40002)), 5000, 'PEX to A naming B');
    await b.waitFor(() => pexOf(b).some((m) => has(m.added, 40001)), 5000, 'PEX to B naming A');
    for (const m of pexOf(a)) assert.ok(!has(m.added, 40001), 'A is never told of itself');
    for (const m of [...pexOf(a), ...pexOf(b)]) assert.ok(!has(m.added, silent.socket.localPort!), 'a peer without p is left out');
    await silent.waitFor(() => pexOf(silent).some((m) => has(m.added, 40001) && has(m.added, 40002)), 5000, 'PEX to the silent one');
    const before = pexOf(a).length;
    b.destroy();
    await a.waitFor(() => pexOf(a).some((m) => has(m.dropped, 40002)), 5000, 'B dropped in a PEX to A');
    assert.equal(pexOf(a).length, before + 1, 'one message for one change');
    await sleep(900);
    assert.equal(pexOf(a).length, before + 1, 'nothing changed: no message');
  } finally {
    for (const p of [a, b, silent]) p.destroy();
  }
});

test('a connection we dialled is listed by the port we dialled, flagged reachable', async () => {
  const node = new PeerNode();
  node.share({ meta: seed.meta, store: seed.store, have: new Bitfield(seed.meta.pieceCount) });
  await node.listen(0, '127.0.0.1');
  try {
    const watcher = await pexPeer(40003, node);
    await node.dial('127.0.0.1', seed.node.port, seed.meta.infoHashHex);
    const m = await watcher.waitFor(() => pexOf(watcher).find((x) => has(x.added, seed.node.port)), 5000, 'PEX naming the seed');
    const entry = m.added.find((x) => x.port === seed.node.port)!;
    assert.equal(entry.flags & PEX_FLAGS.reachable, PEX_FLAGS.reachable);
    assert.equal(entry.flags & PEX_FLAGS.seed, PEX_FLAGS.seed, 'the seed holds every piece');
    // And the seed, dialled by `node`, lists it by the `p` of its extension handshake.
    const other = await pexPeer(40004);
    await other.waitFor(() => pexOf(other).some((x) => has(x.added, node.port)), 5000, 'the seed naming the node that dialled it');
    watcher.destroy();
    other.destroy();
  } finally {
    await node.close();
  }
});

test('learned peers go to the listener (once each; not those we dialled); a second message within the gap is dropped', async () => {
  const learned: PexPeer[][] = [];
  seed.node.pex.onLearned((hash, peers) => {
    if (hash === seed.meta.infoHashHex) learned.push(peers);
  });
  const dialled = new PeerNode();
  dialled.share({ meta: seed.meta, store: seed.store, have: new Bitfield(seed.meta.pieceCount) });
  await dialled.listen(0, '127.0.0.1');
  const a = await pexPeer(40011);
  const b = await pexPeer(40012);
  try {
    await seed.node.dial('127.0.0.1', dialled.port, seed.meta.infoHashHex);
    const tooSoon = seed.node.pex.counts.tooSoon;
    const p = (port: number, ip = '127.0.0.1') => ({ ip, port, flags: 0 });
    // B dialled us: whether the download uses it is the download's call, so it is passed on.
    sendPex(a, [p(7000, '127.0.0.5'), p(7001, '127.0.0.6'), p(40012), p(dialled.port), p(7000, '127.0.0.5')]);
    await until(() => learned.length === 1, 3000, 'the listener');
    assert.deepEqual(learned[0]!.map((x) => `${x.ip}:${x.port}`), ['127.0.0.5:7000', '127.0.0.6:7001', '127.0.0.1:40012'], 'the dialled peer is left out, the repeat counted once');
    sendPex(a, [p(7002, '127.0.0.7')]);
    await until(() => seed.node.pex.counts.tooSoon === tooSoon + 1, 3000, 'the early message counted');
    assert.equal(learned.length, 1, 'dropped, not used');
    await sleep(450); // past the 300 ms gap
    sendPex(a, [p(7002, '127.0.0.7')]);
    await until(() => learned.length === 2, 3000, 'the next message, in time');
    assert.equal(a.closed, false);
  } finally {
    a.destroy();
    b.destroy();
    await dialled.close();
  }
});

test('hostile: 20,000 peers in one message are cut (connection kept); a nested body closes that connection only', async () => {
  const a = await pexPeer(40021);
  const b = await pexPeer(40022);
  try {
    await sleep(50);
    const { cut, learned } = seed.node.pex.counts;
    const many = Buffer.alloc(20_000 * 6);
    for (let i = 0; i < 20_000; i++) {
      many.writeUInt32BE(0x0b000001 + i, i * 6);
      many.writeUInt16BE(6881, i * 6 + 4);
    }
    a.send({ type: 'extended', id: OUR_EXTENSIONS.ut_pex, payload: bencode({ added: many }) });
    await until(() => seed.node.pex.counts.cut === cut + 20_000 - MAX_PEX_TAKE, 3000, 'the cut');
    assert.ok(
      seed.node.pex.counts.learned - learned <= MAX_PEX_TAKE,
      `at most ${MAX_PEX_TAKE} peers learned from one message: ${seed.node.pex.counts.learned - learned}`,
    );
    await sleep(100);
    assert.equal(a.closed, false, 'a big message is cut, not punished');
    let deep = Buffer.from('i1e');
    for (let i = 0; i < 20; i++) deep = Buffer.concat([Buffer.from('d1:x'), deep, Buffer.from('e')]);
    b.send({ type: 'extended', id: OUR_EXTENSIONS.ut_pex, payload: deep });
    await b.waitFor(() => b.closed, 3000, 'the nested PEX closing B');
    assert.equal(a.closed, false, 'A is untouched');
    const c = await pexPeer(40023);
    await c.waitFor(() => pexOf(c).some((m) => has(m.added, 40021)), 5000, 'the node still exchanging peers');
    c.destroy();
  } finally {
    a.destroy();
    b.destroy();
  }
});
