/**
 * The tracker's packed peer table against a plain Map model: random sequences of announces,
 * stops and expiries (fast-check), then every record, count and sample is checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PeerTable } from '../../../src/tracker/store/peer-table.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

interface Model {
  seeder: boolean;
  id: Buffer;
  seen: number;
}

/** Few distinct addresses so that sequences revisit, update and remove the same peers. */
const key = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 3 })).map(([a, p]) => Buffer.from([10, 0, 0, a, 0x1a, p])),
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 3 })).map(([a, p]) => {
    const b = Buffer.alloc(18);
    b[0] = 0x20;
    b[15] = a;
    b[17] = p;
    return b;
  }),
  // An IPv6 key whose first 6 bytes equal an IPv4 key: must never be confused with it.
  fc.integer({ min: 0, max: 3 }).map((p) => Buffer.concat([Buffer.from([10, 0, 0, 1, 0x1a, p]), Buffer.alloc(12)])),
);
const op = fc.oneof(
  fc.record({ kind: fc.constant('announce' as const), key, seeder: fc.boolean(), id: fc.uint8Array({ minLength: 20, maxLength: 20 }), dt: fc.integer({ min: 0, max: 10 }) }),
  fc.record({ kind: fc.constant('stop' as const), key }),
  fc.record({ kind: fc.constant('expire' as const), age: fc.integer({ min: 0, max: 40 }) }),
);

test('PeerTable matches a Map model under random announces, stops and expiries', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const t = new PeerTable();
      const model = new Map<string, Model>();
      let now = 1000;
      for (const o of ops) {
        if (o.kind === 'announce') {
          now += o.dt;
          let at = t.find(o.key);
          if (at < 0) at = t.add(o.key);
          t.update(at, Buffer.from(o.id), o.seeder, now);
          model.set(o.key.toString('hex'), { seeder: o.seeder, id: Buffer.from(o.id), seen: now });
        } else if (o.kind === 'stop') {
          const at = t.find(o.key);
          assert.equal(at >= 0, model.has(o.key.toString('hex')));
          if (at >= 0) t.remove(at);
          model.delete(o.key.toString('hex'));
        } else {
          t.dropOlderThan(now - o.age);
          for (const [k, m] of model) if (m.seen < now - o.age) model.delete(k);
        }
        assert.equal(t.count, model.size);
        assert.equal(t.seeders, [...model.values()].filter((m) => m.seeder).length);
      }
      for (const [k, m] of model) {
        const at = t.find(Buffer.from(k, 'hex'));
        assert.ok(at >= 0, `peer ${k} findable`);
        assert.ok(t.address(at).equals(Buffer.from(k, 'hex')), `peer ${k}: the address stored is the one found`);
        assert.ok(t.peerId(at).equals(m.id), `peer ${k}: the peer id stored is the last announced`);
        assert.equal(t.isSeeder(at), m.seeder);
        assert.equal(t.lastSeen(at), m.seen);
        assert.equal(t.family(at), k.length === 12 ? 4 : 6);
      }
      // A full sample: every live peer but the asker, each once, with its id in the same order.
      if (t.count > 0) {
        const self = 0;
        const s = t.sample(self, 1000, -Infinity, true);
        const got = new Set<string>();
        for (let i = 0; i * 6 < s.v4.length; i++) {
          const k = s.v4.subarray(i * 6, i * 6 + 6).toString('hex');
          got.add(k);
          assert.ok(s.ids4!.subarray(i * 20, i * 20 + 20).equals(model.get(k)!.id), `peer ${k}: ids4 holds its peer id`);
        }
        for (let i = 0; i * 18 < s.v6.length; i++) {
          const k = s.v6.subarray(i * 18, i * 18 + 18).toString('hex');
          got.add(k);
          assert.ok(s.ids6!.subarray(i * 20, i * 20 + 20).equals(model.get(k)!.id), `peer ${k}: ids6 holds its peer id`);
        }
        const expected = new Set(model.keys());
        expected.delete(t.address(self).toString('hex'));
        assert.deepEqual(got, expected);
        assert.equal(got.size, (s.v4.length / 6) + (s.v6.length / 18), 'no duplicates');
      }
    }),
    { seed: SEED, numRuns: 500 },
  );
});

test('PeerTable sample: O(numwant) answers, and every peer of a 1,000-peer swarm appears within 1,000 samples', () => {
  const t = new PeerTable();
  for (let i = 0; i < 1000; i++) {
    const k = Buffer.from([10, 1, i >> 8, i & 255, 0x1a, 0xe1]);
    t.update(t.add(k), Buffer.alloc(20, i & 255), i % 3 === 0, 5000);
  }
  const seen = new Set<string>();
  for (let r = 0; r < 1000; r++) {
    const s = t.sample(r % 1000, 50, 0, false);
    assert.equal(s.v4.length, 50 * 6);
    assert.equal(s.ids4, undefined);
    for (let i = 0; i < 50; i++) seen.add(s.v4.subarray(i * 6, i * 6 + 6).toString('hex'));
  }
  assert.equal(seen.size, 1000);
  // Expired peers are never sampled.
  assert.equal(t.sample(0, 50, 5001, false).v4.length, 0);
  // Shrinks back as peers leave, and stays consistent.
  t.dropOlderThan(5001);
  assert.equal(t.count, 0);
  assert.equal(t.seeders, 0);
});

/** The /32 or /64 of a compact address, as hex: what sameAddress groups by. */
const addressOf = (key: Buffer) => (key.length === 6 ? '4:' + key.subarray(0, 4).toString('hex') : '6:' + key.subarray(0, 8).toString('hex'));

test('PeerTable sameAddress equals a count over the records (IPv4 /32, IPv6 /64), above and below the counting threshold', () => {
  // Few addresses, many ports: tables cross 64 records (where counting switches to a map) both ways.
  const key = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 40 })).map(([a, p]) => Buffer.from([10, 0, 0, a, 0x1a, p])),
    // Same /64, different hosts: one address for the limit.
    fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 20 })).map(([net, host, p]) => {
      const b = Buffer.alloc(18);
      b[0] = 0x20;
      b[7] = net;
      b[15] = host;
      b[17] = p;
      return b;
    }),
  );
  const op = fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('add' as const), key }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('stop' as const), key }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), age: fc.integer({ min: 0, max: 300 }) }) },
  );
  let counted = 0;
  fc.assert(
    fc.property(fc.array(op, { minLength: 200, maxLength: 400 }), (ops) => {
      const t = new PeerTable();
      const model = new Map<string, number>(); // key hex -> last seen
      let now = 0;
      for (const o of ops) {
        now++;
        if (o.kind === 'add') {
          let at = t.find(o.key);
          if (at < 0) at = t.add(o.key);
          t.update(at, Buffer.alloc(20), false, now);
          model.set(o.key.toString('hex'), now);
        } else if (o.kind === 'stop') {
          const at = t.find(o.key);
          if (at >= 0) t.remove(at);
          model.delete(o.key.toString('hex'));
        } else {
          t.dropOlderThan(now - o.age);
          for (const [k, seen] of model) if (seen < now - o.age) model.delete(k);
        }
        const probe = o.kind === 'expire' ? Buffer.from([10, 0, 0, 1, 0, 0]) : o.key;
        const want = [...model.keys()].filter((k) => addressOf(Buffer.from(k, 'hex')) === addressOf(probe)).length;
        assert.equal(t.sameAddress(probe), want, `sameAddress(${probe.toString('hex')}) with ${t.count} records`);
        if (t.count >= 64) counted++;
      }
    }),
    { seed: SEED, numRuns: 60 },
  );
  assert.ok(counted > 100, `checked ${counted} times with 64 records or more`);
});
