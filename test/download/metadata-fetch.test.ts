/**
 * The metadata phase over real loopback sockets: the info dict from a real PeerNode (several
 * ut_metadata pieces), and every kind of lying peer dropped while the honest one is used.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fetchMetadata } from '../../src/download/metadata-fetch.ts';
import { fixedPeers, type PeerSource } from '../../src/download/metadata-sources.ts';
import { SessionError } from '../../src/download/session-error.ts';
import type { MagnetPeer } from '../../src/magnet/magnet-uri.ts';
import type { PeerNode } from '../../src/peer/peer-node.ts';
import type { Metainfo } from '../../src/metainfo/metainfo.ts';
import { metadataPieceCount } from '../../src/peer/wire/ut-metadata.ts';
import { bigInfoTorrent, lyingPeer, metadataOnlyNode, type Lie } from './metadata-fakes.ts';

let meta: Metainfo;
let honest: PeerNode;

before(async () => {
  meta = bigInfoTorrent();
  assert.ok(metadataPieceCount(meta.rawInfo.length) >= 3, 'the metadata spans at least 3 pieces');
  honest = await metadataOnlyNode(meta);
});
after(() => honest.close());

/** A source that hands over `peers` after `ms` (so a liar is surely asked first). */
function later(peers: MagnetPeer[], ms: number): PeerSource {
  let timer: NodeJS.Timeout;
  return { start: (found) => void (timer = setTimeout(() => found(peers), ms)), stop: async () => clearTimeout(timer) };
}

function run(sources: PeerSource[], log: string[], waitSeconds = 10) {
  return fetchMetadata({ infoHash: meta.infoHash, peerId: randomBytes(20), host: '127.0.0.1', port: 1, encryption: 'allow', sources, waitSeconds, log: (l) => log.push(l) });
}

test('the info dict from a real peer, in several pieces, byte for byte', async () => {
  const got = await run([fixedPeers([{ ip: '127.0.0.1', port: honest.port }])], []);
  assert.ok(got.rawInfo.equals(meta.rawInfo), 'the info dictionary came byte for byte');
  assert.deepEqual(got.from, { ip: '127.0.0.1', port: honest.port });
});

const lies: Array<[Lie, RegExp]> = [
  ['wrong-hash', /does not match the info hash/],
  ['absurd-size', /metadata_size 1073741824 is over the bound of 16777216 bytes/],
  ['out-of-range', /sent metadata piece \d+, which we did not ask for/],
  ['other-size', /sent total_size \d+ after metadata_size \d+/],
  ['short-piece', /bytes of metadata piece 0, not 16384/],
  ['junk-handshake', /extension handshake/],
];

for (const [lie, re] of lies) {
  test(`a peer whose metadata lies (${lie}) is dropped; the metadata comes from the honest peer`, async () => {
    const liar = await lyingPeer(meta, lie);
    try {
      const log: string[] = [];
      const got = await run([fixedPeers([{ ip: '127.0.0.1', port: liar.port }]), later([{ ip: '127.0.0.1', port: honest.port }], 300)], log);
      await liar.served;
      assert.ok(got.rawInfo.equals(meta.rawInfo), 'the info dictionary came byte for byte');
      assert.equal(got.from.port, honest.port);
      const dropped = log.find((l) => l.startsWith(`Dropped peer 127.0.0.1:${liar.port}: `));
      assert.match(dropped ?? '', re, log.join('\n'));
      assert.ok(!got.peers.some((p) => p.port === liar.port), 'the liar is not handed on to the download');
    } finally {
      liar.close();
    }
  });
}

test('only liars: one line after the wait, naming the last fault', async () => {
  const liar = await lyingPeer(meta, 'wrong-hash');
  try {
    const t0 = Date.now();
    await assert.rejects(run([fixedPeers([{ ip: '127.0.0.1', port: liar.port }])], [], 1), (e: unknown) => e instanceof SessionError && /no peer gave the metadata within 1 s \(last: 127\.0\.0\.1:\d+: its metadata does not match/.test(e.message));
    const took = Date.now() - t0;
    assert.ok(took < 3000, `gave up after ${took} ms (a 1 s wait)`);
  } finally {
    liar.close();
  }
});

test('no peer at all: one line after the wait', async () => {
  await assert.rejects(run([], [], 0.5), /no peers found for the magnet link within 0.5 s/);
});
