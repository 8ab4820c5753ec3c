/**
 * The downloader's source gate (src/download/source-gate.ts), through the Downloader: liars
 * banned by address (IPv4 /32, IPv6 /64) whatever id they come back with, per-address and total
 * source limits, dropped sources that may come back, the stall message naming a poisoned piece.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Downloader, DownloadError, type DownloaderEvents } from '../../src/download/downloader.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { addressPrefix, normalizeAddress } from '../../src/bittorrent/address.ts';
import { assertPieceEquals, assertStoreEquals, FakeSource, options, setup, sleep, type Mode } from './fakes.ts';

test('a lying source is banned at its first bad piece, by address: a new id or port from there is refused; data exact', async () => {
  const s = await setup(16, 16 * 1024, 5000);
  try {
    const liar = new FakeSource({ id: 'liar', address: '10.0.0.66', data: s.data, meta: s.meta, mode: 'corrupt', maxInFlight: 2 });
    const honest = new FakeSource({ id: 'honest', address: '10.0.0.1', data: s.data, meta: s.meta, maxInFlight: 2, delayMs: 20 });
    const failed: Array<{ piece: number; from: string[] }> = [];
    const dropped: Array<{ id: string; reason: string; banned: boolean; failuresSoFar: number; readdAccepted: boolean; newIdAccepted: boolean }> = [];
    let dl!: Downloader;
    const events: DownloaderEvents = {
      onPieceFailed: (piece, from) => failed.push({ piece, from: from.map((x) => x.id) }),
      onSourceDropped: (src, reason, banned) =>
        dropped.push({
          id: src.id,
          reason,
          banned,
          failuresSoFar: failed.length,
          // The same peer again (say, it reconnected), or with a new peer_id and port: refused.
          readdAccepted: dl.addSource(new FakeSource({ id: 'liar', address: '10.0.0.66', data: s.data, meta: s.meta })),
          newIdAccepted: dl.addSource(new FakeSource({ id: 'liar-new-id', address: '::ffff:10.0.0.66', data: s.data, meta: s.meta })),
        }),
    };
    dl = new Downloader(s.meta, s.store, s.have, options({}), events);
    dl.addSource(liar);
    dl.addSource(honest);
    await dl.run();
    await assertStoreEquals(s);
    assert.equal(dropped.length, 1, JSON.stringify(dropped));
    const d = dropped[0]!;
    assert.equal(d.id, 'liar');
    assert.equal(d.banned, true);
    assert.match(d.reason, /failed its SHA-1 check \(10\.0\.0\.66 banned\)/);
    assert.equal(d.failuresSoFar, 1, 'banned at its first bad piece');
    assert.equal(d.readdAccepted, false, 'a banned address cannot be added again');
    assert.equal(d.newIdAccepted, false, 'not even under a new id (IPv4-mapped form)');
    assert.ok(failed.every((f) => f.from.length === 1 && f.from[0] === 'liar'), 'only the liar was blamed');
    assert.deepEqual(liar.closes, [true], 'the liar was closed as dropped');
    assert.deepEqual(dl.contributions().get('liar'), { pieces: 0, bytes: 0 });
    assert.deepEqual(dl.contributions().get('honest'), { pieces: s.meta.pieceCount, bytes: s.meta.length });
    assert.equal(dl.hasSource('liar'), false);
    assert.equal(dl.isBanned('10.0.0.66'), true);
    assert.equal(dl.isBanned('10.0.0.1'), false);
    for (const f of failed) assert.ok(honest.calls.some((c) => c.piece === f.piece), `piece ${f.piece} refetched`);
  } finally {
    await s.remove();
  }
});

test('addressPrefix: IPv4 by /32, IPv6 by /64 (any spelling), host names as themselves', () => {
  assert.equal(addressPrefix('10.1.2.3'), '10.1.2.3');
  assert.equal(addressPrefix('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(addressPrefix('2001:db8:1:2::5'), '2001:db8:1:2::/64');
  assert.equal(addressPrefix('2001:0DB8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
  assert.equal(addressPrefix('[2001:db8:1:2::1]'), '2001:db8:1:2::/64');
  assert.equal(addressPrefix('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressPrefix('::1'), '0:0:0:0::/64');
  assert.equal(addressPrefix('64:ff9b::10.1.2.3'), '64:ff9b:0:0::/64');
  assert.equal(addressPrefix('2001:db8::1:2:3:4'), '2001:db8:0:0::/64');
  assert.notEqual(addressPrefix('2001:db8:1:2::5'), addressPrefix('2001:db8:1:3::5'));
  assert.equal(addressPrefix('Seed.Example.ORG'), 'seed.example.org');
  assert.equal(normalizeAddress('::FFFF:127.0.0.2'), '127.0.0.2');
});

test('an IPv6 liar is banned by its /64: another address in it is refused, the next /64 is not', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    for (const i of [0, 1, 3]) s.have.set(i);
    const liar = new FakeSource({ id: 'liar6', address: '2001:db8:1:2::5', data: s.data, meta: s.meta, mode: 'corrupt' });
    let banned!: () => void;
    const wasBanned = new Promise<void>((r) => (banned = r));
    const dl = new Downloader(s.meta, s.store, s.have, options({}), { onSourceDropped: (_src, _r, b) => b && banned() });
    dl.addSource(liar);
    await wasBanned;
    assert.match(dl.refusal('2001:db8:1:2:ffff:ffff:ffff:9') ?? '', /2001:db8:1:2::\/64 is banned/);
    assert.equal(dl.addSource(new FakeSource({ id: 'same-64', address: '2001:db8:1:2:ffff::9', data: s.data, meta: s.meta })), false);
    assert.equal(dl.addSource(new FakeSource({ id: 'next-64', address: '2001:db8:1:3::5', data: s.data, meta: s.meta })), true);
    await dl.run();
    await assertPieceEquals(s, 2);
  } finally {
    await s.remove();
  }
});

test('a piece every source so far lied about is not given up: an honest source added later completes it', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    for (const i of [0, 1, 3]) s.have.set(i); // only piece 2 is missing
    // Ten liars, each at its own address (a fresh peer_id alone would not get back in).
    const liars = Array.from({ length: 10 }, (_, k) => new FakeSource({ id: `liar${k}`, address: `10.0.1.${k}`, data: s.data, meta: s.meta, mode: 'corrupt' }));
    const failed: Array<{ piece: number; from: string[] }> = [];
    const banned: string[] = [];
    let allBanned!: () => void;
    const done = new Promise<void>((r) => (allBanned = r));
    const dl = new Downloader(s.meta, s.store, s.have, options({ idleRecheckMs: 20 }), {
      onPieceFailed: (piece, from) => failed.push({ piece, from: from.map((x) => x.id) }),
      onSourceDropped: (src, _reason, b) => {
        if (b) banned.push(src.id);
        if (banned.length === liars.length) allBanned();
      },
    });
    for (const l of liars) dl.addSource(l);
    await done;
    await sleep(50);
    assert.equal(failed.length, 10, 'each liar failed the piece once');
    assert.ok(failed.every((f) => f.piece === 2), `failed pieces: ${failed.map((f) => f.piece).join(',')}`);
    assert.deepEqual(new Set(banned), new Set(liars.map((l) => l.id)));
    assert.equal(s.have.has(2), false);
    // Still running: an honest source that turns up now finishes it.
    assert.equal(dl.addSource(new FakeSource({ id: 'honest', address: '10.0.2.1', data: s.data, meta: s.meta })), true);
    await dl.run();
    await assertPieceEquals(s, 2);
  } finally {
    await s.remove();
  }
});

test('only liars: the stall timeout ends the download, naming the piece every source failed', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    for (const i of [0, 1, 3]) s.have.set(i);
    const dl = new Downloader(s.meta, s.store, s.have, options({ stallTimeoutMs: 400 }));
    for (let k = 0; k < 3; k++) dl.addSource(new FakeSource({ id: `liar${k}`, address: `10.0.3.${k}`, data: s.data, meta: s.meta, mode: 'corrupt' }));
    await assert.rejects(dl.run(), (e: Error) => {
      assert.ok(e instanceof DownloadError, `a DownloadError, not ${e}`);
      assert.match(e.message, /no progress/);
      assert.match(e.message, /piece 2 failed its SHA-1 check from every peer that had it: 10\.0\.3\.\d, 10\.0\.3\.\d, 10\.0\.3\.\d banned/);
      return true;
    });
  } finally {
    await s.remove();
  }
});

test('source limits: at most maxSourcesPerAddress per address prefix and maxSources in all; a dropped one frees its place', async () => {
  const s = await setup(4, 16 * 1024);
  try {
    const dl = new Downloader(s.meta, s.store, s.have, options({ maxSourcesPerAddress: 2, maxSources: 4 }));
    const src = (id: string, address: string, mode: Mode = 'stall') => new FakeSource({ id, address, data: s.data, meta: s.meta, mode });
    assert.equal(dl.addSource(src('a1', '10.0.4.1')), true);
    assert.equal(dl.addSource(src('a2', '::ffff:10.0.4.1')), true);
    assert.equal(dl.addSource(src('a3', '10.0.4.1')), false, 'a third source at one address');
    assert.match(dl.refusal('10.0.4.1') ?? '', /already 2 sources at 10\.0\.4\.1/);
    assert.equal(dl.addSource(src('b1', '2001:db8::1')), true);
    assert.equal(dl.addSource(src('b2', '2001:db8::2')), true);
    assert.equal(dl.addSource(src('b3', '2001:db8::3')), false, 'a third source in one /64');
    assert.equal(dl.addSource(src('c1', '10.0.4.3')), false, 'maxSources reached');
    assert.match(dl.refusal('10.0.4.3') ?? '', /already 4 sources/);
    assert.equal(dl.activeSources, 4);
    dl.abort(new Error('enough'));
    await dl.run().catch(() => {});
    // A source that fails is dropped (not banned): its place is free again.
    let dropped!: () => void;
    const wasDropped = new Promise<void>((r) => (dropped = r));
    const dl2 = new Downloader(s.meta, s.store, new Bitfield(s.meta.pieceCount), options({ maxSourcesPerAddress: 1, maxConsecutiveErrors: 1 }), { onSourceDropped: () => dropped() });
    assert.equal(dl2.addSource(src('e1', '10.0.4.5', 'error')), true);
    assert.equal(dl2.addSource(src('e2', '10.0.4.5')), false);
    await wasDropped;
    assert.equal(dl2.addSource(src('e2', '10.0.4.5', 'honest')), true, 'the dropped source freed its place');
    await dl2.run();
  } finally {
    await s.remove();
  }
});

test('addSource: a banned address is ignored afterwards; a merely dropped source may come back', async () => {
  const s = await setup(8, 16 * 1024);
  try {
    const liar = new FakeSource({ id: 'liar', data: s.data, meta: s.meta, mode: 'corrupt' });
    const broken = new FakeSource({ id: 'flaky', data: s.data, meta: s.meta, connectError: 'connection refused' });
    const erring = new FakeSource({ id: 'erring', data: s.data, meta: s.meta, mode: 'error' });
    const drops: Array<[string, boolean, string]> = [];
    let firstDrops!: () => void;
    const allDropped = new Promise<void>((r) => (firstDrops = r));
    const dl = new Downloader(s.meta, s.store, s.have, options({ maxConsecutiveErrors: 3 }), {
      onSourceDropped: (src, reason, banned) => {
        drops.push([src.id, banned, reason]);
        if (drops.length === 3) firstDrops();
      },
    });
    assert.equal(dl.addSource(liar), true);
    assert.equal(dl.addSource(broken), true);
    assert.equal(dl.addSource(erring), true);
    assert.equal(dl.addSource(new FakeSource({ id: 'liar', data: s.data, meta: s.meta })), false, 'already in use');
    await allDropped;
    const byId = new Map(drops.map(([id, banned, reason]) => [id, { banned, reason }]));
    assert.equal(byId.get('liar')?.banned, true);
    assert.equal(byId.get('flaky')?.banned, false);
    assert.match(byId.get('flaky')!.reason, /connection refused/);
    assert.equal(byId.get('erring')?.banned, false);
    assert.match(byId.get('erring')!.reason, /erring failed/);
    // Now, with the download still going (nobody honest yet):
    assert.equal(dl.addSource(new FakeSource({ id: 'liar', data: s.data, meta: s.meta })), false, 'the banned address stays out, even honest-looking');
    assert.equal(dl.addSource(new FakeSource({ id: 'liar-again', address: 'liar.test', data: s.data, meta: s.meta })), false, 'under any id');
    assert.equal(dl.hasSource('liar'), false);
    assert.equal(dl.addSource(new FakeSource({ id: 'erring', data: s.data, meta: s.meta })), true, 'a dropped (not banned) id may come back');
    assert.equal(dl.addSource(new FakeSource({ id: 'flaky', data: s.data, meta: s.meta })), true);
    await dl.run();
    await assertStoreEquals(s);
    assert.equal(dl.addSource(new FakeSource({ id: 'late', data: s.data, meta: s.meta })), false, 'nothing is added once finished');
    assert.deepEqual(dl.contributions().get('liar'), { pieces: 0, bytes: 0 });
  } finally {
    await s.remove();
  }
});
