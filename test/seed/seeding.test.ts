/** Seeding's DHT: started on the peer's UDP port when asked for, never for a private torrent (BEP 27). */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { decode, encode } from '../../src/metainfo/bencode.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { PieceStore } from '../../src/storage/piece-store.ts';
import { storageFiles } from '../../src/storage/layout.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { newPeerId } from '../../src/bittorrent/peer-id.ts';
import { Seeding } from '../../src/seed/seeding.ts';
import { hasFeature } from '../../src/peer/wire/messages.ts';
import { tempDir } from '../support/procs.ts';

async function seedingOf(privateTorrent: boolean, t: { after(f: () => Promise<void>): void }) {
  const { dir, remove } = await tempDir('seeding-dht-');
  t.after(remove);
  await writeFile(path.join(dir, 'f.bin'), randomBytes(50_000));
  const torrent = decode(await makeTorrent(path.join(dir, 'f.bin'), 'f.bin', { announce: 'http://127.0.0.1:1/announce' })) as { info: Record<string, unknown> };
  const meta = parseMetainfo(encode({ info: { ...torrent.info, ...(privateTorrent ? { private: 1 } : {}) } } as never));
  const store = await PieceStore.openForReading(storageFiles(meta, dir));
  const lines: string[] = [];
  const dht = { bootstrap: [], stateFile: path.join(dir, '.dht-nodes.json'), log: (l: string) => void lines.push(l) };
  const s = await Seeding.listen({ meta, store, have: Bitfield.full(meta.pieceCount), host: '127.0.0.1', port: 0, peerId: newPeerId(), peerLimits: { dht } });
  t.after(() => s.close());
  return { s, lines };
}

test('with peerLimits.dht: a DHT node on the peer port (shared with uTP), the DHT bit in our handshakes', async (t) => {
  const { s, lines } = await seedingOf(false, t);
  assert.ok(s.dht, 'the seeding has a DHT node');
  assert.equal(s.dht.port, s.node.port);
  assert.ok(s.node.dht && hasFeature(s.node.dht.reserved, 'dht'), 'our handshakes carry the DHT bit');
  assert.match(lines.join('\n'), new RegExp(`DHT: node on UDP port ${s.node.port}`));
});

test('a private torrent gets no DHT', async (t) => {
  const { s, lines } = await seedingOf(true, t);
  assert.equal(s.dht, undefined);
  assert.equal(s.node.dht, undefined);
  assert.match(lines.join('\n'), /DHT off: the torrent is private/);
});
