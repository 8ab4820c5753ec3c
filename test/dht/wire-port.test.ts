/** BEP 5 on the wire: the `port` message's codec, the DHT bit, and port messages both ways between peers over loopback. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encode, hasFeature, reservedBytes, WireError, type Message } from '../../src/peer/wire/messages.ts';
import { OUR_RESERVED } from '../../src/peer/wire/handshake.ts';
import { reservedWithDht, type DhtLink } from '../../src/dht/wire-port.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { makeSeed, RawPeer, sleep, until } from '../support/wire-peer.ts';

test('port message codec: id 9, a 2-byte big-endian port', () => {
  assert.deepEqual(encode({ type: 'port', port: 6881 }), Buffer.from([0, 0, 0, 3, 9, 0x1a, 0xe1]));
  for (const port of [0, 1, 6881, 65535]) assert.deepEqual(decodeMessage(encode({ type: 'port', port }).subarray(4)), { type: 'port', port });
  assert.throws(() => decodeMessage(Buffer.from([9, 1])), WireError);
  assert.throws(() => decodeMessage(Buffer.from([9, 1, 2, 3])), WireError);
});

test('the DHT bit is reserved[7] & 0x01, beside the others', () => {
  const r = reservedWithDht();
  assert.equal(r[7]! & 0x01, 0x01);
  assert.ok(hasFeature(r, 'dht') && hasFeature(r, 'fast') && hasFeature(r, 'extensions'), 'reservedWithDht keeps the fast and extension bits beside dht');
  assert.ok(!hasFeature(OUR_RESERVED, 'dht'), 'not set unless the DHT is on');
  assert.deepEqual(reservedWithDht(), reservedBytes(['extensions', 'fast', 'dht']));
});

function fakeLink(port: number): DhtLink & { seen: string[] } {
  const seen: string[] = [];
  return { port, seen, nodeSeen: (host, p) => void seen.push(`${host}:${p}`) };
}

test('with the DHT on: our handshake has the bit, a peer with it gets our port after the bitfield, and its port reaches the DHT once', async (t) => {
  const seed = await makeSeed();
  t.after(() => seed.remove());
  const link = fakeLink(7001);
  seed.node.dht = { link, reserved: reservedWithDht() };

  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash, [], reservedWithDht());
  assert.ok(hasFeature(p.handshake!.reserved, 'dht'), 'the seeder advertises the DHT bit in its handshake');
  const port = await p.waitFor(() => p.messages.find((m): m is Extract<Message, { type: 'port' }> => m.type === 'port'), 5000, 'our port message');
  assert.equal(port.port, 7001);
  assert.ok(['have-all', 'bitfield'].includes(p.messages[0]!.type), `first message ${p.messages[0]!.type}`);
  p.send({ type: 'port', port: 9999 }, { type: 'port', port: 9998 });
  await until(() => link.seen.length > 0, 5000, 'the port message at the DHT');
  await sleep(100);
  assert.deepEqual(link.seen, ['127.0.0.1:9999']);

  // a peer without the bit gets no port message
  const q = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash);
  q.send({ type: 'interested' });
  await sleep(200);
  assert.ok(!q.messages.some((m) => m.type === 'port'), `no PORT message to a peer that did not advertise DHT: ${q.messages.map((m) => m.type).join(' ')}`);
  p.destroy();
  q.destroy();
});

test('with the DHT off: no bit, no port message sent, and a port message received is ignored', async (t) => {
  const seed = await makeSeed();
  t.after(() => seed.remove());
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash, [{ type: 'port', port: 9999 }], reservedWithDht());
  assert.ok(!hasFeature(p.handshake!.reserved, 'dht'), 'a seeder without DHT does not advertise the DHT bit');
  p.send({ type: 'interested' });
  await sleep(200);
  assert.ok(!p.messages.some((m) => m.type === 'port'), `no PORT message from a seeder without DHT: ${p.messages.map((m) => m.type).join(' ')}`);
  assert.ok(!p.closed, 'a port message is no protocol error');
  p.destroy();
});

test('two of our peers, both with the DHT on: the dialler and the answerer learn each other\'s DHT port', async (t) => {
  const seed = await makeSeed();
  t.after(() => seed.remove());
  const seedLink = fakeLink(7002);
  seed.node.dht = { link: seedLink, reserved: reservedWithDht() };
  const node = new PeerNode();
  node.share({ meta: seed.meta, store: seed.store, have: new Bitfield(seed.meta.pieceCount) });
  await node.listen(0, '127.0.0.1');
  t.after(() => node.close());
  const link = fakeLink(7003);
  node.dht = { link, reserved: reservedWithDht() };
  await node.dial('127.0.0.1', seed.node.port, seed.meta.infoHashHex);
  await until(() => link.seen.length > 0 && seedLink.seen.length > 0, 5000, 'both port messages');
  assert.deepEqual(link.seen, [`127.0.0.1:7002`]);
  assert.deepEqual(seedLink.seen, [`127.0.0.1:7003`]);
});
