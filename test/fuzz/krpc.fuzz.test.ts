/**
 * The KRPC gate in front of bittorrent-dht (src/dht/krpc-filter.ts), fuzzed against the library
 * itself: structured KRPC messages with fields of any type and size, and byte mutations of valid
 * ones, are delivered to a real bittorrent-dht node through DhtSocket. Whatever the gate lets
 * through, the library must handle without throwing (unguarded, a number as `token` or
 * `info_hash` ends the process), and the gate itself never throws.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import DHT from 'bittorrent-dht';
import { encode } from '../../src/metainfo/bencode.ts';
import { krpcRefusal } from '../../src/dht/krpc-filter.ts';
import { DhtSocket } from '../../src/dht/dht-socket.ts';
import { anyBytes, check, integer, mutate, mutations, raw20, timed } from '../support/fuzz.ts';

type Val = Buffer | number | Val[] | { [k: string]: Val };
const KEYS = ['t', 'y', 'q', 'a', 'r', 'e', 'id', 'info_hash', 'token', 'v', '__proto__'];
const leaf: fc.Arbitrary<Val> = fc.oneof(integer, raw20, anyBytes(80), fc.uint8Array({ minLength: 26 * 8, maxLength: 26 * 8 }).map((u) => Buffer.from(u)), fc.constantFrom(...['q', 'r', 'e', 'ping', 'find_node', 'get_peers', 'announce_peer', 'put'].map((s) => Buffer.from(s))));
const { val } = fc.letrec<{ val: Val }>((tie) => ({
  val: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('val'), { maxLength: 4 }), fc.dictionary(fc.constantFrom(...KEYS), tie('val'), { maxKeys: 5 })),
}));

/** Each field the library reads: mostly of the right type, often not. */
const field = (right: fc.Arbitrary<Val>) => fc.oneof({ weight: 3, arbitrary: right }, { weight: 2, arbitrary: val });
const nodes = fc.integer({ min: 0, max: 40 }).chain((n) => fc.uint8Array({ minLength: 26 * n, maxLength: 26 * n })).map((u) => Buffer.from(u));
const body = fc.record(
  {
    id: field(raw20),
    target: field(raw20),
    info_hash: field(raw20),
    token: field(anyBytes(100)),
    port: field(integer),
    implied_port: field(fc.constantFrom(0, 1)),
    nodes: field(nodes),
    values: field(fc.array(fc.oneof(anyBytes(8), anyBytes(20)), { maxLength: 120 })),
  },
  { requiredKeys: [] },
);
const name = (names: string[]) => field(fc.constantFrom(...names).map((x) => Buffer.from(x)));

/** The transaction id of the query outstanding when the message arrives (answers are matched to it). */
const OUTSTANDING = Buffer.from('outstanding');

/** A message shaped like KRPC, each field possibly missing or of the wrong type. */
const krpcLike = fc.record(
  { t: field(fc.constant(OUTSTANDING)), y: name(['q', 'r', 'e']), q: name(['ping', 'find_node', 'get_peers', 'announce_peer', 'get', 'put']), a: body, r: body, e: val },
  { requiredKeys: ['t', 'y'] },
);

const VALID = [
  encode({ t: Buffer.from('aa'), y: 'q', q: 'announce_peer', a: { id: Buffer.alloc(20, 1), info_hash: Buffer.alloc(20, 2), port: 6881, token: Buffer.alloc(20) } }),
  encode({ t: Buffer.from('aa'), y: 'r', r: { id: Buffer.alloc(20, 1), nodes: Buffer.alloc(26 * 2, 7), values: [Buffer.alloc(6, 9)], token: Buffer.alloc(8) } }),
  encode({ t: Buffer.from('aa'), y: 'q', q: 'find_node', a: { id: Buffer.alloc(20, 1), target: Buffer.alloc(20, 3) } }),
];

test('whatever the gate lets through, bittorrent-dht handles without throwing', async (t) => {
  const socket = new DhtSocket({ send: () => {}, address: () => ({ address: '127.0.0.1', port: 1 }), limits: { perAddress: 1e9, total: 1e9, maxAddresses: 8 } });
  const dht = new DHT({ socket, bootstrap: false, host: false });
  dht.on('warning', () => {});
  await new Promise<void>((r) => dht.listen(0, () => r()));
  t.after(() => new Promise<void>((r) => dht.destroy(() => r())));
  // a query of ours to the fuzzer's node, so that answers reach the code that matches them to it
  const rpc = (dht as unknown as { _rpc: { socket: { query(peer: object, q: object, cb: () => void): number } } })._rpc.socket;
  const PEER = { host: '127.0.0.1', port: 4000, id: Buffer.alloc(20, 1) };
  const withOutstandingQuery = (m: Record<string, Val>) => {
    const tid = rpc.query(PEER, { q: 'ping', a: { id: dht.nodeId } }, () => {});
    const t = Buffer.alloc(2);
    t.writeUInt16BE(tid);
    return encode({ ...m, t: m['t'] === OUTSTANDING ? t : m['t'] } as never);
  };
  let passed = 0;
  const deliver = (msg: Buffer) => {
    const verdict = timed('krpcRefusal', () => krpcRefusal(msg));
    if (verdict === null) passed++;
    socket.deliver(msg, { address: '127.0.0.1', port: 4000, family: 'IPv4', size: msg.length });
  };
  check(t, 'structured KRPC', fc.property(krpcLike, (m) => deliver(withOutstandingQuery(m))), 3000);
  check(t, 'mutated KRPC', fc.property(fc.constantFrom(...VALID), mutations, (m, ms) => deliver(mutate(m, ms))), 3000);
  await new Promise((r) => setImmediate(r)); // anything the library deferred
  t.diagnostic(`${passed} messages passed the gate to the library`);
  assert.ok(passed > 50, 'the fuzzer reaches the library, not only the gate');
});
