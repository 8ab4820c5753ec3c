/**
 * Our DHT node on a uTP endpoint's UDP socket, in a local DHT of 20 nodes on 127.0.0.1: announce
 * and get_peers, uTP still served on the same socket, the routing table saved and reloaded, and
 * hostile KRPC (malformed, deep, huge tokens, wrong types, floods) that never crashes the process
 * and leaves the library's tables bounded.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { UtpEndpoint } from '../../src/peer/utp/endpoint.ts';
import { PeerDht } from '../../src/dht/peer-dht.ts';
import { DEFAULT_SEND_RATE } from '../../src/dht/dht-socket.ts';
import { decode, encode, isDict, isList, isBytes } from '../../src/metainfo/bencode.ts';
import { startLocalDht, type LocalDht } from '../support/local-dht.ts';
import { tempDir, until } from '../support/procs.ts';

const INFO_HASH = Buffer.alloc(20, 0x5a);

async function peerDht(local: LocalDht, stateFile?: string, bootstrap = true): Promise<{ dht: PeerDht; utp: UtpEndpoint; close(): Promise<void> }> {
  const utp = await UtpEndpoint.bind(0, '127.0.0.1');
  const dht = await PeerDht.start({ bootstrap: bootstrap ? [{ host: '127.0.0.1', port: local.bootstrapPort }] : [], stateFile }, '127.0.0.1', utp.address().port, utp);
  return { dht, utp, close: async () => (await dht.close(), await utp.close()) };
}

/**
 * Send `msgs` to port from a fresh socket, 100 at a time (a burst larger than the receive buffer
 * would be the kernel's to drop, not ours); resolves with the answers once `answers` came, or
 * after `ms` when fewer did.
 */
async function exchange(port: number, msgs: Buffer[], answers = 0, ms = 3000): Promise<Buffer[]> {
  const s = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  let enough = () => {};
  s.on('message', (m) => got.push(m) >= answers && enough());
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  for (let i = 0; i < msgs.length; i += 100) {
    for (const m of msgs.slice(i, i + 100)) s.send(m, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise<void>((r) => {
    const timer = setTimeout(r, answers > 0 ? ms : 100);
    enough = () => (clearTimeout(timer), r());
  });
  s.close();
  return got;
}

const ID = Buffer.alloc(20, 0x11);
/** Poll until `peer` is among the peers `dht` found for INFO_HASH, looking up again every 2 s. */
async function lookupUntilFound(dht: PeerDht, peer: string): Promise<void> {
  const found: string[] = [];
  const off = dht.onPeers(INFO_HASH, (ip, port) => found.push(`${ip}:${port}`));
  let polls = 0;
  await until(() => (polls++ % 10 === 0 && dht.lookup(INFO_HASH), found.includes(peer)), 15_000, () => `found ${found.join(', ')}`);
  off();
}

const krpc = (q: string, a: Record<string, unknown>) => encode({ t: Buffer.from('zz'), y: 'q', q, a: { id: ID, ...a } } as never);

test('local DHT: a peer announces, another finds it; uTP works on the same socket; the table is saved and reloaded', async (t) => {
  const local = await startLocalDht(20);
  t.after(() => local.close());
  const { dir, remove } = await tempDir('dht-peer');
  t.after(remove);
  const stateA = path.join(dir, 'a.json');
  const a = await peerDht(local, stateA);
  const b = await peerDht(local);
  t.after(() => b.close());

  a.dht.keepAnnouncing(INFO_HASH, 7777);
  await lookupUntilFound(b.dht, '127.0.0.1:7777');

  b.utp.on('connection', (s) => s.on('error', () => {}).on('data', (d: Buffer) => s.write(d)));
  const sock = await a.utp.connect('127.0.0.1', b.utp.address().port);
  sock.write(Buffer.from('over uTP beside the DHT'));
  const echoed = await new Promise<Buffer>((r) => sock.once('data', r));
  assert.equal(echoed.toString(), 'over uTP beside the DHT');
  sock.destroy();

  const idA = a.dht.dht.nodeId;
  const before = a.dht.nodeCount;
  assert.ok(before >= 10, `A knows ${before} nodes`);
  await a.close();
  const saved = JSON.parse(await readFile(stateA, 'utf8')) as { id: string; nodes: unknown[] };
  assert.equal(saved.id, idA.toString('hex'));
  assert.equal(saved.nodes.length, before);

  // no bootstrap this time: the saved table is all it has
  const again = await peerDht(local, stateA, false);
  t.after(() => again.close());
  assert.deepEqual(again.dht.dht.nodeId, idA);
  assert.equal(again.dht.nodeCount, before);
  b.dht.keepAnnouncing(INFO_HASH, 8888);
  await lookupUntilFound(again.dht, '127.0.0.1:8888');
});

test('hostile KRPC: malformed, deeply nested, huge tokens, wrong types, floods: no crash, answers go on, tables bounded', async (t) => {
  const local = await startLocalDht(3);
  t.after(() => local.close());
  const p = await peerDht(local);
  t.after(() => p.close());
  const port = p.dht.port;
  const id20 = 'a'.repeat(20);
  const hostile = [
    Buffer.from('l-3:'),
    Buffer.from('d1:al-3:e'),
    Buffer.from(`d1:a${'l'.repeat(700)}${'e'.repeat(700)}1:t2:aa1:y1:qe`),
    Buffer.from(`d1:ad2:id20:${id20}9:info_hash20:${id20}4:porti6881e5:tokeni5ee1:q13:announce_peer1:t2:aa1:y1:qe`),
    Buffer.from(`d1:ad2:id20:${id20}9:info_hashi5ee1:q9:get_peers1:t2:aa1:y1:qe`),
    krpc('announce_peer', { info_hash: INFO_HASH, port: 1, token: Buffer.alloc(1200) }),
    encode({ t: Buffer.from('zz'), y: 'r', r: { id: ID, token: Buffer.alloc(1300), nodes: Buffer.alloc(26 * 40) } } as never),
    encode({ t: Buffer.from('zz'), y: 'r', r: { id: 5 } } as never),
    Buffer.from(`d1:ad9:__proto__d1:xi1ee2:id20:${id20}e1:q4:ping1:t2:aa1:y1:qe`),
    Buffer.concat([Buffer.from('d'), Buffer.alloc(1400, 0x69)]),
    krpc('put', { v: Buffer.alloc(900), token: Buffer.alloc(20) }),
  ];
  let uncaught: Error | undefined;
  const onUncaught = (e: Error) => (uncaught = e);
  process.on('uncaughtException', onUncaught);
  t.after(() => process.off('uncaughtException', onUncaught));
  const heapBefore = process.memoryUsage().heapUsed;
  // one source, 5,000 datagrams: the source limiter lets about 100 through
  const flood = Array.from({ length: 5000 }, (_, i) => hostile[i % hostile.length]!);
  await exchange(port, flood);
  // and every hostile kind from fresh sources, within their limits: each reaches the gate
  for (const h of hostile) await exchange(port, [h]);
  assert.equal(uncaught, undefined, String(uncaught?.stack));
  assert.ok(p.dht.socket.limiter.refused > 2000, `limiter refused ${p.dht.socket.limiter.refused}`);
  assert.ok(p.dht.socket.refused >= hostile.length, `gate refused ${p.dht.socket.refused}`);

  // it still answers a well-formed ping
  const [pong] = await exchange(port, [krpc('ping', {})], 1);
  const m = decode(pong!);
  assert.ok(isDict(m) && isDict(m['r']) && isBytes(m['r']['id']), 'a well-formed ping still gets a pong with r.id');

  const lib = p.dht.dht as unknown as { _tables: { length: number }; _values: { length: number }; _peers: { size: number; maxSize: number }; _rpc: { pending: unknown[] } };
  assert.equal(lib._values.length, 0, 'no BEP 44 value was stored');
  assert.equal(lib._peers.maxSize, 5000);
  assert.ok(lib._rpc.pending.length < 100, `fewer than 100 outgoing queries pending: ${lib._rpc.pending.length}`);
  const grown = process.memoryUsage().heapUsed - heapBefore;
  assert.ok(grown < 64 * 1024 * 1024, `heap grew ${grown} bytes`);
});

test('get_peers answers stay one datagram however many peers announced', async (t) => {
  const local = await startLocalDht(2);
  t.after(() => local.close());
  const p = await peerDht(local);
  t.after(() => p.close());
  const port = p.dht.port;
  const [first] = await exchange(port, [krpc('get_peers', { info_hash: INFO_HASH })], 1);
  const r = (decode(first!) as { r: { token: Buffer } }).r;
  // 300 ports announced from 3 sources (100 each: one burst of the source limiter)
  for (let s = 0; s < 3; s++) {
    const acks = await exchange(port, Array.from({ length: 100 }, (_, i) => krpc('announce_peer', { info_hash: INFO_HASH, port: 10_000 + s * 100 + i, token: r.token })), 100);
    assert.equal(acks.length, 100);
  }
  const [answer] = await exchange(port, [krpc('get_peers', { info_hash: INFO_HASH })], 1);
  assert.ok(answer!.length <= 1400, `${answer!.length} bytes`);
  const values = (decode(answer!) as { r: { values: unknown } }).r.values;
  assert.ok(isList(values as never) && (values as Buffer[]).length === 50, 'a sample of 50 of the 300 peers');
});

test('without uTP (--transport tcp) the DHT binds its own UDP socket on the port; on a dual-stack endpoint (::) it speaks IPv4 through it', async (t) => {
  const local = await startLocalDht(5);
  t.after(() => local.close());
  const probe = await UtpEndpoint.bind(0, '127.0.0.1');
  const port = probe.address().port;
  await probe.close();
  const own = await PeerDht.start({ bootstrap: [{ host: '127.0.0.1', port: local.bootstrapPort }] }, '127.0.0.1', port);
  t.after(() => own.close());
  assert.equal(own.port, port);
  const [pong] = await exchange(port, [krpc('ping', {})], 1);
  assert.ok(isDict(decode(pong!)), 'the ping on the own socket is answered with a dict');
  await assert.rejects(PeerDht.start({ bootstrap: [] }, '127.0.0.1', port), /EADDRINUSE/, 'a taken port is an error for the caller (Seeding: DHT off, peer on)');

  const dual = await UtpEndpoint.bind(0, '::');
  const d = await PeerDht.start({ bootstrap: [{ host: '127.0.0.1', port: local.bootstrapPort }] }, '::', dual.address().port, dual);
  t.after(async () => (await d.close(), await dual.close()));
  const [pong6] = await exchange(d.port, [krpc('ping', {})], 1);
  assert.ok(isDict(decode(pong6!)), 'an IPv4 ping through the IPv6 socket is answered');
  await until(() => d.nodeCount >= 3, 10_000, () => `the dual-stack node knows ${d.nodeCount} nodes`);
  await assert.rejects(PeerDht.start({ bootstrap: [] }, '::1', 1), /IPv4/);
});

test('what the DHT sends is bounded in bytes per second: answers to a flood of queries amplify nothing beyond it', async (t) => {
  const local = await startLocalDht(3);
  t.after(() => local.close());
  const p = await peerDht(local);
  t.after(() => p.close());
  const port = p.dht.port;
  // 60 peers for one torrent, so that each get_peers answer carries 50 of them (about 460 bytes)
  const [first] = await exchange(port, [krpc('get_peers', { info_hash: INFO_HASH })], 1);
  const token = (decode(first!) as { r: { token: Buffer } }).r.token;
  await exchange(port, Array.from({ length: 60 }, (_, i) => krpc('announce_peer', { info_hash: INFO_HASH, port: 20_000 + i, token })), 60);
  const t0 = performance.now();
  const sentBefore = p.dht.socket.sentBytes;
  // 40 sources x 50 get_peers, 4 sources at a time (each within its per-source limit): about 900 KB of answers asked for
  const got: Buffer[] = [];
  for (let g = 0; g < 10; g++) {
    const answers = await Promise.all(Array.from({ length: 4 }, () => exchange(port, Array.from({ length: 50 }, () => krpc('get_peers', { info_hash: INFO_HASH })), 50, 300)));
    got.push(...answers.flat());
  }
  const seconds = (performance.now() - t0) / 1000;
  const answered = got.reduce((n, b) => n + b.length, 0);
  const sent = p.dht.socket.sentBytes - sentBefore;
  t.diagnostic(`${got.length} of 2000 queries answered, ${answered} bytes in ${seconds.toFixed(2)} s; ${p.dht.socket.unsent} answers held back`);
  assert.ok(sent <= 2 * DEFAULT_SEND_RATE + DEFAULT_SEND_RATE * seconds, `${sent} bytes sent in ${seconds} s`);
  assert.ok(answered <= sent, `bytes answered (${answered}) are at most the bytes sent (${sent})`);
  assert.ok(p.dht.socket.unsent > 500, 'the budget was used up, then answers were held back');
});
