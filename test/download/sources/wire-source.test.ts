/**
 * A WireSource against a peer that behaves like a BEP 16 super-seeder (libtorrent's): no
 * bitfield, an unchoke, and a HAVE offered only to a peer that is not interested. Interest must
 * follow what the peer holds (BEP 3), and a HAVE must wake the scheduler at once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { expected, makeSeed, RawPeer, sleep, until, type Seed } from '../../support/wire-peer.ts';
import { encodeHandshake, reservedBytes, type Message } from '../../../src/peer/wire/messages.ts';
import { PeerNode } from '../../../src/peer/peer-node.ts';
import { PieceStore } from '../../../src/storage/piece-store.ts';
import { storageFiles } from '../../../src/storage/layout.ts';
import { Bitfield } from '../../../src/bittorrent/bitfield.ts';
import { Downloader, DEFAULT_DOWNLOADER_OPTIONS } from '../../../src/download/downloader.ts';
import { WireSource } from '../../../src/download/sources/wire-source.ts';
import { tempDir } from '../../support/procs.ts';
import { timerLateness } from '../../support/timing.ts';
import { pieceSize } from '../../../src/metainfo/metainfo.ts';
import type { WireConnection } from '../../../src/peer/wire/connection.ts';
import { encodeExtHandshake } from '../../../src/peer/wire/extensions.ts';

let seed: Seed;
before(async () => {
  seed = await makeSeed();
});
after(async () => {
  await seed?.remove();
});

type Of<T extends Message['type']> = Extract<Message, { type: T }>;
const ofType = <T extends Message['type']>(p: RawPeer, t: T) => p.messages.filter((m): m is Of<T> => m.type === t);

/** Serve every request the raw peer got for `index` (it plays the seeder), from the seed's data. */
function serveRequests(p: RawPeer, served: Set<string>): void {
  for (const r of ofType(p, 'request')) {
    const key = `${r.index}:${r.begin}`;
    if (served.has(key)) continue;
    served.add(key);
    p.send({ type: 'piece', index: r.index, begin: r.begin, block: expected(seed, r.index, r.begin, r.length) });
  }
}

/** An empty leecher node with a raw fast+extended peer dialled in, and a Downloader over it. */
async function leecherWithRawPeer() {
  const { dir, remove } = await tempDir('wire-source-');
  const store = await PieceStore.openForWriting(storageFiles(seed.meta, dir, '.part'));
  const have = new Bitfield(seed.meta.pieceCount);
  const node = new PeerNode();
  node.share({ meta: seed.meta, store, have });
  await node.listen(0, '127.0.0.1');
  const incoming = new Promise<WireConnection>((resolve) => node.onWire(resolve));
  const p = await RawPeer.handshaked(node.port, seed.meta.infoHash, [], reservedBytes(['fast', 'extensions']));
  const conn = await incoming;
  const dl = new Downloader(seed.meta, store, have, { ...DEFAULT_DOWNLOADER_OPTIONS, stallTimeoutMs: 20_000 }, { onPiece: (i) => node.pieceVerified(seed.meta.infoHashHex, i) });
  const close = async () => {
    dl.abort(new Error('test over'));
    p.destroy();
    await node.close();
    await store.close();
    await remove();
  };
  return { p, conn, dl, node, close };
}

test('super-seeder behaviour: not interested until a HAVE, then interested and requesting at once; not interested again after the piece', async () => {
  const { p, conn, dl, close } = await leecherWithRawPeer();
  try {
    assert.equal(dl.addSource(new WireSource(conn, 'super-seeder', 10_000)), true);
    p.send({ type: 'have-none' }, { type: 'unchoke' });
    await sleep(300);
    assert.equal(ofType(p, 'interested').length, 0, 'not interested in a peer that announced nothing');
    const served = new Set<string>();
    for (const index of [5, 2, 9]) {
      const t0 = performance.now();
      const lateness = timerLateness(500); // a loaded machine delays the answer as much as its timers
      p.send({ type: 'have', index });
      await p.waitFor(() => ofType(p, 'request').some((r) => r.index === index), 2000, `a request for piece ${index}`);
      const ms = performance.now() - t0;
      const late = await lateness;
      assert.ok(ms < 500 + late, `requested ${ms.toFixed(0)} ms after the HAVE, timers ${late.toFixed(0)} ms late (the old poll took up to 1000 ms)`);
      const blocks = Math.ceil(pieceSize(seed.meta, index) / 16384);
      await p.waitFor(() => (serveRequests(p, served), ofType(p, 'have').some((h) => h.index === index)), 3000, `our HAVE ${index}`);
      assert.equal(served.size % blocks, 0);
      await p.waitFor(() => p.messages.at(-1)?.type === 'not-interested', 2000, 'not interested once it has nothing more for us');
    }
    const order = p.messages.filter((m) => m.type === 'interested' || m.type === 'not-interested').map((m) => m.type);
    assert.deepEqual(order, ['interested', 'not-interested', 'interested', 'not-interested', 'interested', 'not-interested']);
  } finally {
    await close();
  }
});

/** A downloader with one WireSource on a raw peer that holds everything; `extra` is sent before the unchoke. */
async function rawSeeder(extra: Message[]) {
  const { p, conn, dl, close } = await leecherWithRawPeer();
  p.send(...extra, { type: 'have-all' }, { type: 'unchoke' });
  await sleep(100);
  assert.equal(dl.addSource(new WireSource(conn, 'raw', 10_000)), true);
  return { p, close };
}

test('requests in flight: whole (small) pieces at once, and never more than the reqq the peer announced', async () => {
  for (const reqq of [undefined, 6]) {
    const extra: Message[] = reqq === undefined ? [] : [{ type: 'extended', id: 0, payload: encodeExtHandshake({ uploadOnly: true, reqq }) }];
    const { p, close } = await rawSeeder(extra);
    try {
      await p.waitFor(() => ofType(p, 'request').length > 0, 3000, 'requests');
      await sleep(300); // nothing is answered: whatever is in flight now is all the source asks for
      const perPiece = new Map<number, number>();
      for (const r of ofType(p, 'request')) perPiece.set(r.index, (perPiece.get(r.index) ?? 0) + 1);
      const total = ofType(p, 'request').length;
      // Small pieces (64 KiB): every block of each asked for at once; two pieces at first (the downloader's slow start).
      if (reqq === undefined) assert.deepEqual([...perPiece].map(([i, n]) => n - Math.ceil(pieceSize(seed.meta, i) / 16384)), [0, 0]);
      else assert.ok(total <= reqq && total > 0, `${total} requests in flight with reqq ${reqq}`);
    } finally {
      await close();
    }
  }
});

test('a peer whose connection closes before it served anything frees its place: its next connection (same peer_id) is a source', async () => {
  const { p, conn, dl, node, close } = await leecherWithRawPeer();
  let again: RawPeer | undefined;
  try {
    assert.equal(dl.addSource(new WireSource(conn, 'first', 10_000)), true);
    // It closes at once, as a peer does that keeps another connection to us (libtorrent drops
    // one of two; our seeder drops the one it dialled to one of ours).
    p.destroy();
    await until(() => conn.closed, 2000, 'the first connection closed');
    const id = WireSource.idFor(conn.peerId);
    await until(() => !dl.hasSource(id), 2000, 'the closed source dropped (it held the place of its peer_id)');
    const incoming = new Promise<WireConnection>((resolve) => node.onWire(resolve));
    again = await RawPeer.connect(node.port);
    again.write(encodeHandshake(seed.meta.infoHash, conn.peerId, reservedBytes(['fast', 'extensions'])));
    const conn2 = await incoming;
    assert.equal(dl.addSource(new WireSource(conn2, 'second', 10_000)), true, 'the same peer on a new connection is a source again');
    again.send({ type: 'have-all' }, { type: 'unchoke' });
    const served = new Set<string>();
    await again.waitFor(() => (serveRequests(again!, served), ofType(again!, 'have').length > 0), 5000, 'a piece downloaded from the new connection');
  } finally {
    again?.destroy();
    await close();
  }
});
