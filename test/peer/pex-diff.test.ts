/** What one PEX message to one peer says: the diff since the last, 50 of each kind at most, the rest later. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPexDiff, pexDiff, pexKey } from '../../src/peer/pex-diff.ts';
import type { PexPeer } from '../../src/peer/wire/pex.ts';

const peer = (i: number): PexPeer => ({ ip: `10.0.${i >> 8}.${i & 0xff}`, port: 6881, flags: 0 });
const byKey = (ps: PexPeer[]) => new Map(ps.map((p) => [pexKey(p), p]));

test('first message: everyone connected is added; then only changes, and nothing when nothing changed', () => {
  const told = new Map<string, PexPeer>();
  const first = pexDiff(told, byKey([peer(1), peer(2)]));
  assert.deepEqual(first, { added: [peer(1), peer(2)], dropped: [] });
  applyPexDiff(told, first);
  assert.deepEqual(pexDiff(told, byKey([peer(1), peer(2)])), { added: [], dropped: [] });
  const next = pexDiff(told, byKey([peer(2), peer(3)]));
  assert.deepEqual(next, { added: [peer(3)], dropped: [peer(1)] });
  applyPexDiff(told, next);
  assert.deepEqual([...told.keys()], [pexKey(peer(2)), pexKey(peer(3))]);
});

test('120 peers go out 50, 50, then 20; 120 gone come back as dropped the same way', () => {
  const all = byKey(Array.from({ length: 120 }, (_, i) => peer(i + 1)));
  const told = new Map<string, PexPeer>();
  const sizes: number[] = [];
  for (let m = pexDiff(told, all); m.added.length > 0; m = pexDiff(told, all)) {
    assert.equal(m.dropped.length, 0);
    sizes.push(m.added.length);
    applyPexDiff(told, m);
  }
  assert.deepEqual(sizes, [50, 50, 20]);
  const drops: number[] = [];
  for (let m = pexDiff(told, new Map()); m.dropped.length > 0; m = pexDiff(told, new Map())) {
    drops.push(m.dropped.length);
    applyPexDiff(told, m);
  }
  assert.deepEqual(drops, [50, 50, 20]);
  assert.equal(told.size, 0);
});

test('the same address on another port is another peer', () => {
  const a = { ip: '127.0.0.1', port: 1, flags: 0 };
  const b = { ip: '127.0.0.1', port: 2, flags: 0 };
  assert.deepEqual(pexDiff(byKey([a]), byKey([a, b])), { added: [b], dropped: [] });
});
