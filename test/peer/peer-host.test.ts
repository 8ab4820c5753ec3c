/** PeerHost: several torrents on one port, one DHT node, each torrent leaving on its own. */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { parseMetainfo, type Metainfo } from '../../src/metainfo/metainfo.ts';
import { PieceStore } from '../../src/storage/piece-store.ts';
import { storageFiles } from '../../src/storage/layout.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { newPeerId } from '../../src/bittorrent/peer-id.ts';
import { PeerHost } from '../../src/peer/peer-host.ts';
import { Seeding } from '../../src/seed/seeding.ts';
import { tempDir } from '../support/procs.ts';

async function torrentIn(dir: string, name: string, data: Buffer): Promise<{ meta: Metainfo; store: PieceStore }> {
  await writeFile(path.join(dir, name), data);
  const meta = parseMetainfo(await makeTorrent(path.join(dir, name), name, { announce: 'http://127.0.0.1:1/announce' }));
  return { meta, store: await PieceStore.openForReading(storageFiles(meta, dir)) };
}

async function fileStatus(port: number, meta: Metainfo): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(`http://127.0.0.1:${port}/file/${meta.infoHashHex}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

test('two torrents on one host: both served on its port, one DHT node; one stops, the other stays', async (t) => {
  const { dir, remove } = await tempDir('peer-host-');
  t.after(remove);
  const a = randomBytes(70_000);
  const b = randomBytes(30_000);
  const ta = await torrentIn(dir, 'a.bin', a);
  const tb = await torrentIn(dir, 'b.bin', b);
  const dht = { bootstrap: [], stateFile: path.join(dir, '.dht-nodes.json') };
  const host = await PeerHost.listen({ host: '127.0.0.1', port: 0, peerId: newPeerId(), peerLimits: { dht } });
  t.after(() => host.close());
  const sa = await Seeding.on(host, { ...ta, have: Bitfield.full(ta.meta.pieceCount) });
  const sb = await Seeding.on(host, { ...tb, have: Bitfield.full(tb.meta.pieceCount) });
  assert.ok(sa.dht && sa.dht === sb.dht, 'one DHT node for the process');
  assert.equal(sa.dht.port, host.port);
  assert.ok((await fileStatus(host.port, ta.meta)).bytes.equals(a), 'torrent a is served byte-identical from the shared host');
  assert.ok((await fileStatus(host.port, tb.meta)).bytes.equals(b), 'torrent b is served byte-identical from the shared host');
  assert.equal(sa.uploaded, a.length, 'uploads counted per torrent');
  assert.equal(host.node.counter.uploaded, a.length + b.length, 'and for the process');

  await sa.close();
  assert.equal((await fileStatus(host.port, ta.meta)).status, 404, 'a stopped torrent is no longer served');
  assert.ok((await fileStatus(host.port, tb.meta)).bytes.equals(b), 'the other one still is, on the same port');
  await sb.close();
});

test('a host whose port is taken: one line naming the port', async (t) => {
  const first = await PeerHost.listen({ host: '127.0.0.1', port: 0, peerId: newPeerId(), peerLimits: {} });
  t.after(() => first.close());
  await assert.rejects(PeerHost.listen({ host: '127.0.0.1', port: first.port, peerId: newPeerId(), peerLimits: {} }), new RegExp(String(first.port)));
});
