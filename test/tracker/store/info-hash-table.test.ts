/**
 * The store's info_hash table against a plain Map model: random sequences of adds, deletes and
 * sweeps (fast-check), then every lookup and the size are checked; plus growth and shrinking
 * over many thousands of keys, and keys that agree in all but one byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { InfoHashTable, SHARDS } from '../../../src/tracker/store/info-hash-table.ts';
import { ROOT } from '../../support/procs.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

/** Few distinct keys (differing in one byte, first or last) so that sequences revisit them. */
const key = fc.tuple(fc.integer({ min: 0, max: 11 }), fc.boolean()).map(([k, last]) => {
  const b = Buffer.alloc(20, 0xab);
  b[last ? 19 : 0] = k;
  return b;
});
const op = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), key, value: fc.integer() }),
  fc.record({ kind: fc.constant('delete' as const), key }),
  fc.record({ kind: fc.constant('sweep' as const), below: fc.integer() }),
);

function check(t: InfoHashTable<number>, model: Map<string, number>, probes: Buffer[]): void {
  assert.equal(t.size, model.size);
  for (const k of probes) assert.equal(t.get(k), model.get(k.toString('hex')));
  assert.deepEqual(t.values().sort((a, b) => a - b), [...model.values()].sort((a, b) => a - b));
}

test('InfoHashTable matches a Map model under random adds, deletes and sweeps', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const t = new InfoHashTable<number>();
      const model = new Map<string, number>();
      const probes: Buffer[] = [];
      for (const o of ops) {
        if (o.kind === 'add') {
          probes.push(o.key);
          const hex = o.key.toString('hex');
          if (!model.has(hex)) {
            t.add(o.key, o.value);
            model.set(hex, o.value);
          }
        } else if (o.kind === 'delete') {
          t.delete(o.key);
          model.delete(o.key.toString('hex'));
        } else {
          t.sweep((v) => v < o.below);
          for (const [k, v] of model) if (v < o.below) model.delete(k);
        }
        check(t, model, probes);
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('InfoHashTable grows to 50,000 keys and shrinks back, finding every key on the way', () => {
  const t = new InfoHashTable<number>();
  const keyOf = (i: number) => {
    const b = Buffer.alloc(20);
    b.writeUInt32BE(i, 16); // keys alike but for their last bytes
    return b;
  };
  for (let i = 0; i < 50_000; i++) t.add(keyOf(i), i);
  assert.equal(t.size, 50_000);
  for (let i = 0; i < 50_000; i++) assert.equal(t.get(keyOf(i)), i);
  assert.equal(t.get(keyOf(50_000)), undefined);
  for (let i = 0; i < 50_000; i += 2) t.delete(keyOf(i));
  t.sweep((v) => v % 4 === 1);
  assert.equal(t.size, 12_500);
  for (let i = 0; i < 50_000; i++) assert.equal(t.get(keyOf(i)), i % 4 === 3 ? i : undefined);
  t.sweep(() => true);
  assert.equal(t.size, 0);
  t.add(keyOf(7), 7);
  assert.equal(t.get(keyOf(7)), 7);
});

test('InfoHashTable refuses keys not 20 bytes long, and finds nothing for them', () => {
  const t = new InfoHashTable<string>();
  t.add(Buffer.alloc(20, 5), 'five');
  assert.equal(t.get(Buffer.alloc(20, 5)), 'five');
  assert.throws(() => t.add(Buffer.alloc(19), 'short'), RangeError);
  assert.equal(t.get(Buffer.alloc(19, 5)), undefined);
  assert.equal(t.get(Buffer.alloc(21, 5)), undefined);
});

test('keyedHash is seeded per process: the same bytes hash differently in two processes', () => {
  // A fixed hash would let clients choose info_hashes, ports or IPv6 addresses that all share
  // one probe chain. Two processes agreeing by chance has a probability of 2^-32.
  const script = "import('./src/tracker/store/keyed-hash.ts').then((m) => console.log(m.keyedHash(Buffer.alloc(20, 1), 0, 20)))";
  const run = () => execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT }).toString().trim();
  const a = run();
  assert.match(a, /^\d+$/);
  assert.notEqual(a, run());
});

test('InfoHashTable spreads keys over its shards, so that no rehash (growth, shrinking) touches more than a small share of them', () => {
  const t = new InfoHashTable<number>();
  const b = Buffer.alloc(20, 0x5a);
  for (let i = 0; i < 100_000; i++) {
    b.writeUInt32BE(i, 16); // keys alike but for their last bytes
    t.add(b, i);
  }
  const sizes = t.shards.map((s) => s.size);
  assert.equal(sizes.length, SHARDS);
  assert.equal(sizes.reduce((a, n) => a + n, 0), 100_000);
  const mean = 100_000 / SHARDS;
  assert.ok(Math.max(...sizes) < 1.5 * mean && Math.min(...sizes) > 0.5 * mean, `shard sizes ${Math.min(...sizes)}..${Math.max(...sizes)} around ${mean.toFixed(0)}`);
});
