/**
 * The piece picker (src/download/picker.ts) alone, on plain objects: rarest first, runs of
 * consecutive pieces, random among equals, endgame joins, and the takeover of pieces held only by
 * slow fetches (#13).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinable, pickPiece, type PickerFetch, type PickerSource, type PickerView } from '../../src/download/picker.ts';

interface Src extends PickerSource {
  name: string;
  slow: boolean;
  cursor: number;
}

function src(name: string, holds: (piece: number) => boolean, o: { slow?: boolean; cursor?: number } = {}): Src {
  return { name, source: { has: holds }, slow: o.slow ?? false, cursor: o.cursor ?? -1 };
}

function view(pieceCount: number, live: Src[], o: { done?: number[]; inProgress?: Map<number, Set<PickerFetch<Src>>> } = {}): PickerView<Src> {
  const done = new Set(o.done ?? []);
  return { pieceCount, isDone: (i) => done.has(i), inProgress: o.inProgress ?? new Map(), live };
}

const all = () => true;
/** A fixed "random" draw: 0 picks the first candidate, 0.999 the last. */
const first = () => 0;
const last = () => 0.999;

test('rarest first: the piece fewest live sources hold', () => {
  const a = src('A', all);
  const b = src('B', (i) => i < 8);
  const c = src('C', (i) => i < 4);
  const v = view(16, [a, b, c]);
  // A holds all: the pieces only it holds (8..15) come first.
  for (const r of [first, last]) {
    const p = pickPiece(v, a, r)!;
    assert.ok(p.piece >= 8 && p.piece < 16, `A got ${p.piece}`);
    assert.equal(p.endgame, false);
  }
  // B: pieces 4..7 (held by A and B) are rarer than 0..3 (held by all three).
  const pb = pickPiece(v, b, first)!;
  assert.ok(pb.piece >= 4 && pb.piece < 8, `B got ${pb.piece}`);
  assert.ok(pickPiece(v, c, first)!.piece < 4, 'C (all three hold 0..3) gets one of the pieces 0..3');
});

test('rarity counts live sources only (a dropped source is not in the view)', () => {
  const a = src('A', all);
  const b = src('B', (i) => i === 0);
  assert.equal(pickPiece(view(2, [a, b]), a, first)!.piece, 1, 'piece 1 is rarer while B is live');
  assert.equal(pickPiece(view(2, [a]), a, first)!.piece, 0, 'without B, both are equal: the first draw');
});

test('runs: among equally rare pieces, the one after the source\'s last pick', () => {
  const a = src('A', all, { cursor: 5 });
  assert.deepEqual(pickPiece(view(10, [a]), a, first), { piece: 5, endgame: false });
  assert.deepEqual(pickPiece(view(10, [a]), a, last), { piece: 5, endgame: false });
  // The cursor's piece is done or not among the rarest: a random one instead.
  assert.deepEqual(pickPiece(view(10, [a], { done: [5] }), a, first), { piece: 0, endgame: false });
  const b = src('B', (i) => i !== 5);
  assert.deepEqual(pickPiece(view(10, [a, b]), a, first), { piece: 5, endgame: false }, 'rarer and the cursor');
  const c = src('C', (i) => i === 5);
  assert.deepEqual(pickPiece(view(10, [a, c]), a, first), { piece: 0, endgame: false }, 'the cursor is commoner now');
});

test('random among equals: the draw decides, over every candidate', () => {
  const a = src('A', all);
  const v = view(8, [a], { done: [0, 3] });
  const picked = new Set<number>();
  for (let k = 0; k < 6; k++) picked.add(pickPiece(v, a, () => k / 6)!.piece);
  assert.deepEqual([...picked].sort(), [1, 2, 4, 5, 6, 7]);
});

test('done pieces, pieces the source lacks, and pieces being fetched are not fresh picks', () => {
  const a = src('A', (i) => i !== 2);
  const other = src('B', all);
  const inProgress = new Map([[1, new Set([{ state: other, slow: false }])]]);
  const v = view(4, [a, other], { done: [0], inProgress });
  assert.deepEqual(pickPiece(v, a, first), { piece: 3, endgame: false });
  assert.equal(pickPiece(view(2, [a], { done: [0, 1] }), a, first), undefined, 'nothing left');
  assert.equal(pickPiece(view(3, [a], { done: [0, 1] }), a, first), undefined, 'only a piece it lacks');
});

test('endgame: with nothing fresh, join a piece one other source fetches; never one of its own', () => {
  const a = src('A', all);
  const b = src('B', all);
  const inProgress = new Map<number, Set<PickerFetch<Src>>>([
    [0, new Set([{ state: a, slow: false }])],
    [1, new Set([{ state: b, slow: false }])],
  ]);
  const v = view(2, [a, b], { inProgress });
  assert.deepEqual(pickPiece(v, a, first), { piece: 1, endgame: true });
  assert.deepEqual(pickPiece(v, b, first), { piece: 0, endgame: true });
  // A piece two sources fetch already (neither slow) takes no third.
  const c = src('C', all);
  inProgress.get(1)!.add({ state: a, slow: false });
  assert.equal(pickPiece(v, c, first)?.piece, 0);
  assert.equal(pickPiece(view(2, [a, b, c], { inProgress, done: [0] }), c, first), undefined);
});

test('#13 takeover: a piece held only by slow fetches is joined by a source that is not slow', () => {
  const t1 = src('T1', (i) => i === 3, { slow: true });
  const t2 = src('T2', (i) => i === 3, { slow: true });
  const fast = src('F', all);
  const inProgress = new Map<number, Set<PickerFetch<Src>>>([[3, new Set([{ state: t1, slow: true }, { state: t2, slow: true }])]]);
  const v = view(4, [t1, t2, fast], { inProgress, done: [0, 1, 2] });
  assert.deepEqual(pickPiece(v, fast, first), { piece: 3, endgame: true }, 'every fetch of it is slow: a fast source takes it');
  const slow = src('S', all, { slow: true });
  assert.equal(pickPiece(v, slow, first), undefined, 'a slow source does not take over from slow ones');
  // One of the two fetches is not slow: no takeover.
  const mixed = new Map<number, Set<PickerFetch<Src>>>([[3, new Set([{ state: t1, slow: true }, { state: t2, slow: false }])]]);
  assert.equal(pickPiece(view(4, [t1, t2, fast], { inProgress: mixed, done: [0, 1, 2] }), fast, first), undefined);
});

test('joinable: one other fetch, or every fetch slow and the joiner not; never its own', () => {
  const a = src('A', all);
  const b = src('B', all);
  const c = src('C', all);
  const slowA = src('SA', all, { slow: true });
  assert.equal(joinable(new Set([{ state: b, slow: false }]), a), true);
  assert.equal(joinable(new Set([{ state: a, slow: true }]), a), false);
  assert.equal(joinable(new Set([{ state: b, slow: false }, { state: c, slow: false }]), a), false);
  assert.equal(joinable(new Set([{ state: b, slow: true }, { state: c, slow: true }]), a), true);
  assert.equal(joinable(new Set([{ state: b, slow: true }, { state: c, slow: true }]), slowA), false);
  assert.equal(joinable(new Set([{ state: b, slow: false }]), slowA), true, 'one other fetch: even a slow source may join');
});
