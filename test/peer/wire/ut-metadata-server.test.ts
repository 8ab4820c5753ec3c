/**
 * Serving ut_metadata from a real PeerNode, driven by hand over loopback: metadata_size in the
 * extension handshake, every piece byte for byte, rejects for pieces out of range and past the
 * per-connection budget, and junk closing only its own connection.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { encode as bencode } from '../../../src/metainfo/bencode.ts';
import { reservedBytes, type Message } from '../../../src/peer/wire/messages.ts';
import { decodeExtHandshake, OUR_EXTENSIONS } from '../../../src/peer/wire/extensions.ts';
import { decodeUtMetadata, encodeUtMetadata, metadataPieceCount, type UtMetadataMessage } from '../../../src/peer/wire/ut-metadata.ts';
import type { PeerNode } from '../../../src/peer/peer-node.ts';
import type { Metainfo } from '../../../src/metainfo/metainfo.ts';
import { RawPeer } from '../../support/wire-peer.ts';
import { bigInfoTorrent, metadataOnlyNode } from '../../download/metadata-fakes.ts';

const OUR_ID_AT_PEER = 7; // the sub-id our hand-driven client asks for ut_metadata
let meta: Metainfo;
let node: PeerNode;
let count: number;

before(async () => {
  meta = bigInfoTorrent();
  count = metadataPieceCount(meta.rawInfo.length);
  node = await metadataOnlyNode(meta);
});
after(() => node.close());

async function client(): Promise<RawPeer> {
  const p = await RawPeer.handshaked(node.port, meta.infoHash, [], reservedBytes(['extensions']));
  p.send({ type: 'extended', id: 0, payload: bencode({ m: { ut_metadata: OUR_ID_AT_PEER } }) });
  return p;
}

const request = (piece: number): Message => ({ type: 'extended', id: OUR_EXTENSIONS.ut_metadata, payload: encodeUtMetadata({ type: 'request', piece }) });

function answers(p: RawPeer): UtMetadataMessage[] {
  return p.messages.filter((m) => m.type === 'extended' && m.id === OUR_ID_AT_PEER).map((m) => decodeUtMetadata((m as { payload: Buffer }).payload));
}

test('metadata_size and ut_metadata in the handshake; every piece byte for byte', async () => {
  const p = await client();
  try {
    const hs = await p.waitFor(() => p.messages.find((m) => m.type === 'extended' && m.id === 0), 5000, 'extension handshake');
    const h = decodeExtHandshake((hs as { payload: Buffer }).payload);
    assert.equal(h.metadataSize, meta.rawInfo.length);
    assert.equal(h.m.get('ut_metadata'), OUR_EXTENSIONS.ut_metadata);
    p.send(...Array.from({ length: count }, (_, i) => request(i)));
    await p.waitFor(() => answers(p).length === count, 5000, 'every piece');
    const data = answers(p).map((a) => (assert.ok(a.type === 'data' && a.totalSize === meta.rawInfo.length, 'each answer: data of the metadata size'), a.data));
    assert.ok(Buffer.concat(data).equals(meta.rawInfo), 'the pieces joined are the metadata');
  } finally {
    p.destroy();
  }
});

test('a piece out of range gets a reject and the connection stays up', async () => {
  const p = await client();
  try {
    p.send(request(count), request(1_000_000), request(0));
    await p.waitFor(() => answers(p).length === 3, 5000, 'three answers');
    assert.deepEqual(answers(p).slice(0, 2), [{ type: 'reject', piece: count }, { type: 'reject', piece: 1_000_000 }]);
    assert.equal(answers(p)[2]!.type, 'data');
    assert.ok(!p.closed, 'rejects do not close the connection');
  } finally {
    p.destroy();
  }
});

test('past two copies and a few spare answers, requests are rejected (bounded upload per connection)', async () => {
  const p = await client();
  try {
    const budget = 2 * count + 8;
    p.send(...Array.from({ length: budget + 5 }, () => request(0)));
    await p.waitFor(() => answers(p).length === budget + 5, 5000, 'every answer');
    assert.equal(answers(p).filter((a) => a.type === 'data').length, budget);
    assert.equal(answers(p).filter((a) => a.type === 'reject').length, 5);
  } finally {
    p.destroy();
  }
});

test('a junk ut_metadata message closes that connection only', async () => {
  const bad = await client();
  const good = await client();
  try {
    bad.send({ type: 'extended', id: OUR_EXTENSIONS.ut_metadata, payload: Buffer.from('d8:msg_typei0e5:piecei') });
    await bad.waitFor(() => bad.closed, 5000, 'the junk connection to close');
    good.send(request(0));
    await good.waitFor(() => answers(good).length === 1, 5000, 'an answer on the other connection');
    assert.equal(answers(good)[0]!.type, 'data');
  } finally {
    bad.destroy();
    good.destroy();
  }
});
