/**
 * Attacks on a peer's serving side (issue #13, items 2, 3, 4 and the cancel storm of 10), each
 * by one attacker on loopback, against the real seeder program where the attack is against a
 * program: the upload cap is not used up by answers nobody reads, clients that never read pin
 * neither memory nor connections, one address cannot take every wire slot, a silent peer is
 * closed on time, and a cancel storm does not stall the process. Plus the mechanisms alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { Scope, startSeeder } from '../support/bad-peers.ts';
import { abandonPipeline, connectFrom, rssBytes, sleep, socketCount, stalledClient, timedGet, wireHandshake, type Stalled } from '../support/attack-peer.ts';
import { RawPeer, httpGet } from '../support/wire-peer.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { makeTorrent as makeSingleFileTorrent } from '../../src/metainfo/create.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { PieceStore } from '../../src/storage/piece-store.ts';
import { storageFiles } from '../../src/storage/layout.ts';
import { RateLimiter } from '../../src/net/rate-limiter.ts';
import { RequestQueue } from '../../src/peer/wire/request-queue.ts';
import { encode } from '../../src/peer/wire/messages.ts';
import { SlotPool } from '../../src/net/slots.ts';
import { addressPrefix } from '../../src/bittorrent/address.ts';
import { tempDir } from '../support/procs.ts';
import { timerLateness } from '../support/timing.ts';

const MiB = 1024 * 1024;
/** Nobody listens there: the seeder says the tracker is unreachable and serves anyway. */
const DEAD_TRACKER = 'http://127.0.0.1:9/announce';

async function seederWith(scope: Scope, size: number, flags: string[]) {
  const dir = await scope.dir('peer-attack-');
  await writeFile(path.join(dir, 'data.bin'), randomBytes(size));
  return startSeeder(scope, dir, 'data.bin', DEAD_TRACKER, ['--no-web-seed', ...flags]);
}

/** A PeerNode in this process sharing a random file (for attacks that need to look inside). */
async function nodeWith(size: number, pieceLength: number, opts: ConstructorParameters<typeof PeerNode>[0] = {}) {
  const { dir, remove } = await tempDir('peer-attack-');
  await writeFile(path.join(dir, 'data.bin'), randomBytes(size));
  const meta = parseMetainfo(await makeSingleFileTorrent(path.join(dir, 'data.bin'), 'data.bin', { announce: DEAD_TRACKER, pieceLength }));
  const store = await PieceStore.openForReading(storageFiles(meta, dir));
  const node = new PeerNode(opts);
  node.share({ meta, store, have: Bitfield.full(meta.pieceCount) });
  await node.listen(0, '127.0.0.1');
  return {
    node,
    meta,
    async close() {
      await node.close();
      await store.close();
      await remove();
    },
  };
}

test('item 2: after 60 pipelined 4 MiB GETs abandoned after 0.5 s, an honest request is served within 1 s (--max-upload-rate 1M)', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    const seeder = await seederWith(scope, 4 * MiB, ['--max-upload-rate', '1M']);
    // 60 as in the issue (deeper than a connection may pipeline), and 30 (within it).
    for (const depth of [60, 30]) {
      const got = await abandonPipeline(seeder.port, `/file/${seeder.infoHash}`, depth, 500);
      assert.ok(got < 2 * MiB, `the capped seeder sent ${got} bytes in 0.5 s`);
      const honest = await timedGet(seeder.port, `/piece/${seeder.infoHash}/0`, { Range: 'bytes=0-16383' }, 5000);
      assert.equal(honest.status, 206);
      assert.equal(honest.bytes, 16384);
      assert.ok(honest.ms < 1000, `after a pipeline of ${depth}: honest HTTP request answered after ${honest.ms.toFixed(0)} ms`);
    }
    // Both protocols share the cap: a wire block must come promptly too.
    const meta = parseMetainfo(await readFile(seeder.torrent));
    const wire = await RawPeer.handshaked(seeder.port, meta.infoHash, [{ type: 'interested' }]);
    try {
      await wire.waitFor(() => wire.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke');
      const t0 = performance.now();
      wire.send({ type: 'request', index: 1, begin: 0, length: 16384 });
      await wire.waitFor(() => wire.pieces().length === 1, 5000, 'the block');
      const ms = performance.now() - t0;
      assert.ok(ms < 1000, `wire block answered after ${ms.toFixed(0)} ms`);
    } finally {
      wire.destroy();
    }
  } finally {
    await scope.dispose();
  }
});

test('item 3: 300 clients that never read a 16 MiB answer: seeder RSS stays under 256 MiB; all closed within --send-timeout', { timeout: 90_000 }, async () => {
  const scope = new Scope();
  const clients: Stalled[] = [];
  try {
    const SEND_TIMEOUT_S = 2;
    const seeder = await seederWith(scope, 16 * MiB, ['--send-timeout', String(SEND_TIMEOUT_S)]);
    const pid = seeder.proc.child.pid!;
    const baseSockets = socketCount(pid);
    const baseRss = rssBytes(pid);
    let peak = baseRss;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
    try {
      // 20 addresses x 15 clients: under the per-address cap, over the global one (200).
      const t0 = performance.now();
      for (let a = 0; a < 20; a++) {
        const from = `127.0.0.${a + 2}`;
        clients.push(...(await Promise.all(Array.from({ length: 15 }, () => stalledClient(seeder.port, from, `/file/${seeder.infoHash}`)))));
      }
      // Every accepted connection is closed once it took nothing for the send timeout. Under
      // load the seeder accepts them over a while: the clock runs from the last one it took.
      let count = socketCount(pid) - baseSockets;
      let lastGrowth = performance.now();
      while (count > 0 && performance.now() - lastGrowth < (SEND_TIMEOUT_S + 3) * 1000 && performance.now() - t0 < 40_000) {
        await sleep(100);
        const now = socketCount(pid) - baseSockets;
        if (now > count) lastGrowth = performance.now();
        count = now;
      }
      assert.equal(count, 0, `${count} connections still open ${((performance.now() - lastGrowth) / 1000).toFixed(1)} s after the seeder accepted the last one (send timeout ${SEND_TIMEOUT_S} s)`);
    } finally {
      clearInterval(sampler);
      console.log(`seeder RSS ${(baseRss / MiB).toFixed(0)} MiB -> peak ${(peak / MiB).toFixed(0)} MiB`);
    }
    // Bound: the idle seeder, 16 MiB of large chunks, two 128 KiB chunks for each of 200
    // connections, and room for the garbage collector's lag (before the fix: 1.29 GB).
    const limit = 256 * MiB;
    assert.ok(peak < limit, `seeder RSS peaked at ${(peak / MiB).toFixed(0)} MiB (started at ${(baseRss / MiB).toFixed(0)} MiB; bound ${limit / MiB} MiB)`);
    // The clients, reading at last, see an answer cut short (or a 503), never a whole 16 MiB.
    for (const c of clients) c.drain();
    await Promise.all(clients.map(async (c) => {
      for (let i = 0; i < 100 && !c.ended; i++) await sleep(50);
    }));
    const whole = clients.filter((c) => c.ended && c.ended.bytes >= 16 * MiB).length;
    const open = clients.filter((c) => !c.ended).length;
    assert.equal(open, 0, `${open} clients still connected`);
    assert.equal(whole, 0, `${whole} clients got the whole answer without reading`);
    // The seeder still serves.
    assert.equal((await timedGet(seeder.port, '/stats')).status, 200);
  } finally {
    for (const c of clients) c.socket.destroy();
    await scope.dispose();
  }
});

test('item 4: one address opening 250 wire connections (50 half-open) holds at most half the slots: a second address still connects', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  const sockets: net.Socket[] = [];
  try {
    const seeder = await seederWith(scope, 1 * MiB, []);
    const meta = parseMetainfo(await readFile(seeder.torrent));
    // Half-open: byte 19 and nothing more, holding a socket each through the handshake timeout.
    for (let i = 0; i < 50; i++) {
      const s = await connectFrom(seeder.port, '127.0.0.2');
      s.on('error', () => {});
      s.write(Buffer.from([19]));
      sockets.push(s);
    }
    let answered = 0;
    const full = await Promise.all(Array.from({ length: 200 }, () => wireHandshake(seeder.port, '127.0.0.2', meta.infoHash, 3000)));
    for (const r of full) {
      sockets.push(r.socket);
      if (r.answered) answered++;
    }
    assert.ok(answered <= 100, `one address got ${answered} handshakes answered, besides 50 half-open connections (at most half of 200 slots)`);
    const second = await wireHandshake(seeder.port, '127.0.0.3', meta.infoHash, 3000);
    sockets.push(second.socket);
    assert.ok(second.answered, 'a second address gets its handshake answered');
    // HTTP from a third address is served too.
    assert.equal((await timedGet(seeder.port, '/stats')).status, 200);
  } finally {
    for (const s of sockets) s.destroy();
    await scope.dispose();
  }
});

test('item 4: a silent wire peer is closed after --idle-timeout, though we keep writing to it; a peer sending keep-alives stays', { timeout: 30_000 }, async () => {
  const seed = await nodeWith(256 * 1024, 16 * 1024, { idleTimeoutMs: 1000 });
  try {
    const silent = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash);
    const talker = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash);
    const t0 = performance.now();
    // Our own writes (HAVEs, as a downloading requester sends them) must not count as activity.
    const writer = setInterval(() => seed.node.pieceVerified(seed.meta.infoHashHex, 0), 100);
    const keepAlive = setInterval(() => talker.send({ type: 'keep-alive' }), 300);
    try {
      await silent.waitFor(() => silent.closed, 4000, 'the silent peer to be closed').catch(() => {});
      assert.ok(silent.closed, 'the silent peer is still connected');
      const ms = performance.now() - t0;
      assert.ok(ms >= 900 && ms < 2500, `silent peer closed after ${ms.toFixed(0)} ms (idle timeout 1000 ms)`);
      await sleep(1500);
      assert.ok(!talker.closed, 'a peer that sends keep-alives was closed');
    } finally {
      clearInterval(writer);
      clearInterval(keepAlive);
      silent.destroy();
      talker.destroy();
    }
  } finally {
    await seed.close();
  }
});

test('item 3 on the wire: a peer that requests blocks and never reads them is closed after the send timeout', { timeout: 30_000 }, async () => {
  const seed = await nodeWith(4 * MiB, 256 * 1024, { sendTimeoutMs: 1000 });
  const p = await RawPeer.handshaked(seed.node.port, seed.meta.infoHash, [{ type: 'interested' }]);
  try {
    await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke');
    p.socket.pause();
    // 256 blocks of 16 KiB: 4 MiB, more than loopback's socket buffers take.
    const blocks = Array.from({ length: 256 }, (_, i) => ({ type: 'request' as const, index: Math.floor(i / 16), begin: (i % 16) * 16384, length: 16384 }));
    p.send(...blocks);
    const t0 = performance.now();
    while (seed.node.wires.size > 0 && performance.now() - t0 < 8000) await sleep(50);
    const ms = performance.now() - t0;
    assert.equal(seed.node.wires.size, 0, 'the peer that reads nothing is still connected');
    assert.ok(ms < 5000, `closed after ${ms.toFixed(0)} ms (send timeout 1000 ms)`);
  } finally {
    p.destroy();
    await seed.close();
  }
});

test('item 10: a storm of 400,000 cancels over a 2,000-request queue costs the seeder little CPU and keeps /stats fast', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    // A tiny upload cap keeps the queue full: 1-byte requests at 2,000 offsets of piece 0 are distinct.
    const seeder = await seederWith(scope, 1 * MiB, ['--max-upload-rate', '100', '--piece-length', '64K']);
    const pid = seeder.proc.child.pid!;
    const meta = parseMetainfo(await readFile(seeder.torrent));
    const p = await RawPeer.handshaked(seeder.port, meta.infoHash, [{ type: 'interested' }]);
    try {
      await p.waitFor(() => p.messages.some((m) => m.type === 'unchoke'), 3000, 'unchoke');
      p.send(...Array.from({ length: 1999 }, (_, begin) => ({ type: 'request' as const, index: 0, begin, length: 1 })));
      await sleep(200);
      // The storm: cancel the newest request and ask for it again, 409,600 times at about 400,000
      // a second (4,096 pairs every 10 ms); then a request of 32 KiB, which the seeder answers by
      // closing: then it has read the whole storm.
      const pair = Buffer.concat([encode({ type: 'cancel', index: 0, begin: 1998, length: 1 }), encode({ type: 'request', index: 0, begin: 1998, length: 1 })]);
      const burst = Buffer.concat(Array.from({ length: 4096 }, () => pair));
      const cpu0 = cpuSeconds(pid);
      const t0 = performance.now();
      const storm = (async () => {
        for (let i = 0; i < 100 && !p.closed; i++) {
          if (!p.socket.write(burst)) await new Promise((r) => p.socket.once('drain', r));
          await sleep(10);
        }
        p.send({ type: 'request', index: 0, begin: 0, length: 32 * 1024 });
        await p.waitFor(() => p.closed, 30_000, 'the seeder to read the whole storm').catch(() => {});
      })();
      const times: number[] = [];
      while (!p.closed && performance.now() - t0 < 30_000) times.push((await timedGet(seeder.port, '/stats')).ms);
      await storm;
      const cpu = cpuSeconds(pid) - cpu0;
      const wall = (performance.now() - t0) / 1000;
      times.sort((x, y) => x - y);
      const median = times[Math.floor(times.length / 2)] ?? 0;
      // The same requests right after the storm: what this machine's load makes of /stats now.
      const quiet: number[] = [];
      for (let i = 0; i < 15; i++) quiet.push((await timedGet(seeder.port, '/stats')).ms);
      quiet.sort((x, y) => x - y);
      const baseline = quiet[Math.floor(quiet.length / 2)]!;
      console.log(`storm read in ${wall.toFixed(2)} s using ${cpu.toFixed(2)} s of the seeder's CPU; /stats median ${median.toFixed(1)} ms, slowest ${times[times.length - 1]?.toFixed(1)} ms (${times.length}); after it ${baseline.toFixed(1)} ms`);
      assert.ok(p.closed, 'the seeder did not read the whole storm within 30 s');
      // Measured here: /stats in 2-5 ms with O(1) cancels, 40-70 ms with a linear search per
      // cancel (after the storm: 1-2 ms). A test running beside this one can slow every answer
      // (27 ms seen once), so the storm's median is also judged against the answers after it.
      // The CPU figure (0.7-0.8 s against 1.5 s) moves with the load too, so it is only printed;
      // the queue's own cost per cancel is judged in the RequestQueue test below.
      assert.ok(median < 25 || median < 8 * baseline, `/stats took ${median.toFixed(0)} ms (median of ${times.length}) during the storm, ${baseline.toFixed(1)} ms after it`);
    } finally {
      p.destroy();
    }
  } finally {
    await scope.dispose();
  }
});

/** CPU time a process has used (user + system), in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

// ------------------------------------------------------------------------------ the mechanisms

test('RateLimiter: waiters take turns in order; a withdrawn wait spends nothing; the rate holds', async () => {
  const lim = new RateLimiter(100_000, 10); // 100 kB/s, 1 kB bucket
  const order: string[] = [];
  const gone = new AbortController();
  const t0 = performance.now();
  const lateness = timerLateness(100);
  const a = lim.take(10_000).then(() => order.push('a'));
  const b = lim.take(10_000, gone.signal).then((ok) => order.push(ok ? 'b' : 'b withdrawn'));
  const c = lim.take(10_000).then(() => order.push('c'));
  gone.abort();
  await Promise.all([a, b, c]);
  const ms = performance.now() - t0;
  assert.deepEqual(order, ['a', 'b withdrawn', 'c']);
  // a went on the bucket's credit; c waited for a's 10 kB only (b's were never spent): ~100 ms,
  // not ~200 ms; plus however late this machine runs a timer of 100 ms now.
  const late = await lateness;
  assert.ok(ms >= 80 && ms < 180 + late, `c granted after ${ms.toFixed(0)} ms (timers ${late.toFixed(0)} ms late)`);
});

test('RequestQueue: FIFO, duplicates served as often as asked, cancel withdraws one, mismatched cancels ignored', () => {
  const q = new RequestQueue(65536);
  q.push(0, 0, 100);
  q.push(1, 16384, 16384);
  q.push(0, 0, 100);
  q.push(2, 0, 5);
  q.cancel(0, 0, 99); // wrong length
  q.cancel(3, 0, 5); // never asked
  q.cancel(0, 0, 100);
  assert.equal(q.size, 3);
  const out = [];
  for (let r = q.shift(); r; r = q.shift()) out.push([r.index, r.begin, r.length]);
  assert.deepEqual(out, [[1, 16384, 16384], [0, 0, 100], [2, 0, 5]]);
  // Many cancels stay cheap and leave the queue exact.
  for (let i = 0; i < 2000; i++) q.push(0, i, 1);
  for (let i = 0; i < 100_000; i++) {
    q.cancel(0, 1999, 1);
    q.push(0, 1999, 1);
  }
  assert.equal(q.size, 2000);
  let n = 0;
  while (q.shift()) n++;
  assert.equal(n, 2000);
});

test('RequestQueue: a cancel costs the same behind 2,000 waiting requests as behind 20 (O(1), not a search)', () => {
  /** Seconds for 200,000 cancel+request pairs of the newest request behind `waiting` others. */
  const storm = (waiting: number): number => {
    const q = new RequestQueue(1 << 20);
    for (let i = 0; i < waiting; i++) q.push(0, i, 1);
    const t0 = performance.now();
    for (let i = 0; i < 200_000; i++) {
      q.cancel(0, waiting - 1, 1);
      q.push(0, waiting - 1, 1);
    }
    return (performance.now() - t0) / 1000;
  };
  storm(20); // warm up
  // Alternated, best of 5 each: a linear search makes the long queue ~100x slower; load moves both.
  const short: number[] = [];
  const long: number[] = [];
  for (let r = 0; r < 5; r++) {
    short.push(storm(20));
    long.push(storm(2000));
  }
  const ratio = Math.min(...long) / Math.min(...short);
  assert.ok(ratio < 4, `cancels behind 2,000 requests took ${ratio.toFixed(1)}x as long as behind 20`);
});

test('SlotPool: the per-address cap binds once half the slots are used; addressPrefix groups IPv6 by /64', () => {
  const pool = new SlotPool(10, 2);
  let a = 0;
  while (pool.take('a')) a++;
  assert.equal(a, 5, 'one address gets at most half');
  assert.ok(pool.take('b') && pool.take('b'), 'a second address gets 2 slots');
  assert.ok(!pool.take('b'), 'past half: 2 per address');
  pool.release('a');
  assert.ok(pool.take('c'), "a slot released by 'a' goes to 'c'");
  assert.equal(addressPrefix('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(addressPrefix('2001:db8::1'), addressPrefix('2001:0db8:0:0:ffff::2'));
  assert.notEqual(addressPrefix('2001:db8:0:1::1'), addressPrefix('2001:db8:0:2::1'));
  assert.equal(addressPrefix('fe80::1%eth0'), addressPrefix('fe80::2'));
});
