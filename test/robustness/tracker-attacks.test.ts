/**
 * Issue #13 item 9 and the absolute-form part of item 10: one address against the tracker.
 *   - new info_hashes at full speed from one address: refused after its burst, memory bounded,
 *     another address still served at once;
 *   - many ports of one address in one swarm: at most 8 listed, the rest answered with a warning;
 *   - 600,000 swarms expiring at once: no announce waits more than 50 ms behind the sweep;
 *   - /peers of a big swarm: paged (1,000 a page) with a total;
 *   - `GET http://host/announce?...` (absolute form) answered on the fast path and through Node.
 * Loopback only; the real tracker program where the attack is on the program.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startTracker, tempDir, type Proc } from '../support/procs.ts';
import { announceTarget, flood, httpGet, rssMiB } from '../support/attack-tracker.ts';
import { decode, isBytes, isDict, type BDict } from '../../src/metainfo/bencode.ts';
import { createTrackerServer, type TrackerServer } from '../../src/tracker/http/server.ts';
import { MemorySwarmStore } from '../../src/tracker/store/memory-store.ts';
import { trackerConfig } from '../../src/tracker/service.ts';
import type { AnnounceRequest } from '../../src/tracker/protocol/announce.ts';

function answer(body: Buffer): BDict {
  const d = decode(body);
  assert.ok(isDict(d), `a bencoded dict: ${body.toString('latin1').slice(0, 80)}`);
  return d;
}
const text = (v: unknown) => (isBytes(v as never) ? (v as Buffer).toString() : undefined);

async function withProgram(extra: string[], body: (t: { port: number; proc: Proc }) => Promise<void>): Promise<void> {
  const tmp = await tempDir('p2p-tracker-attack-');
  const t = await startTracker(tmp.dir, extra);
  try {
    await body(t);
  } finally {
    t.proc.kill('SIGKILL');
    await t.proc.exited;
    await tmp.remove();
  }
}

async function inProcess(store: MemorySwarmStore, intervalSeconds: number): Promise<{ tracker: TrackerServer; port: number }> {
  const tracker = createTrackerServer(store, trackerConfig(intervalSeconds));
  await new Promise<void>((resolve) => tracker.server.listen(0, '127.0.0.1', resolve));
  return { tracker, port: (tracker.server.address() as AddressInfo).port };
}

test('new info_hashes at full speed from one address: refused after its burst, RSS bounded, another address served at once', { timeout: 30_000 }, async (t) => {
  // Loopback is exempt by default (the demo and benchmarks run on it): --exempt none limits it.
  await withProgram(['--exempt', 'none'], async ({ port, proc }) => {
    const warm = await httpGet(port, announceTarget({ infoHash: randomBytes(20), port: 6881 }), '127.0.0.2');
    assert.equal(answer(warm.body)['failure reason'], undefined);
    const before = rssMiB(proc.child.pid!);
    const seconds = 4;
    const flooding = flood(port, '127.0.0.1', seconds * 1000, 4, () => announceTarget({ infoHash: randomBytes(20), port: 6881 }));
    // Meanwhile another address creates a torrent and joins one: answered, and quickly.
    const slowest: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const r = await httpGet(port, announceTarget({ infoHash: randomBytes(20), port: 7000 + i }), '127.0.0.3');
      assert.equal(text(answer(r.body)['failure reason']), undefined, 'another address is served during the flood');
      slowest.push(r.ms);
    }
    const f = await flooding;
    const after = rssMiB(proc.child.pid!);
    // Default budget: 1,000 at once, then 120 a minute.
    const allowed = 1000 + Math.ceil((120 * (seconds + 1)) / 60);
    t.diagnostic(`flood: ${f.sent} announces, ${f.accepted} new torrents created; RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MiB; other address answered in <= ${Math.max(...slowest).toFixed(0)} ms`);
    assert.ok(f.sent > 5 * allowed, `the flood sent ${f.sent} announces (enough to matter)`);
    assert.ok(f.accepted <= allowed, `${f.accepted} of ${f.sent} new torrents from one address were created (at most ${allowed})`);
    assert.ok(Math.max(...slowest) < 1000, `another address answered in ${Math.max(...slowest).toFixed(0)} ms at worst`);
    assert.ok(after - before < 40, `tracker RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MiB during the flood (bound: +40 MiB)`);
  });
});

test('many ports of one address in one swarm: 8 listed, the rest answered with a warning; another address still listed', { timeout: 30_000 }, async () => {
  await withProgram(['--exempt', 'none'], async ({ port }) => {
    const h = randomBytes(20);
    let p = 10_000;
    // Ports 10,000-59,999 over and over (a fast flood sends more than there are ports).
    const f = await flood(port, '127.0.0.1', 1500, 2, () => announceTarget({ infoHash: h, port: 10_000 + (p++ % 50_000) }));
    assert.equal(f.refused, 0, 'no failure: every announce gets peers');
    // Only the 8 listed ports are answered without a warning (again each time the ports wrap).
    assert.ok(f.sent - f.warned <= 8 * Math.ceil(f.sent / 50_000), `${f.warned} of ${f.sent} answered with a warning (unlisted)`);
    const other = answer((await httpGet(port, announceTarget({ infoHash: h, port: 7777, numwant: 200 }), '127.0.0.2')).body);
    assert.equal(other['warning message'], undefined);
    assert.equal((other['peers'] as Buffer).length / 6, 8, 'the other address sees the 8 listed peers of the first');
    const listed = JSON.parse((await httpGet(port, `/peers?info_hash=${h.toString('hex')}`)).body.toString());
    assert.equal(listed.total, 9, '8 ports of 127.0.0.1 and 127.0.0.2');
  });
});

/**
 * Announces one after another on one keep-alive socket until `done()`, not counting the first
 * `warmUp` (the code paths' first runs, before expiry starts). For each, the wall time and the
 * CPU time this process (tracker and client) spent meanwhile: a wait caused by the tracker's own
 * work shows in both, one caused by the OS running other programs (2 cores shared with other
 * test files) only in the first. `longest`: the longest wait that was ours, min(wall, CPU).
 */
async function roundTrips(port: number, target: string, done: () => Promise<boolean>, maxMs: number, warmUp: number): Promise<{ longest: number; longestWall: number; count: number }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => socket.once('connect', r));
  let longest = 0;
  let longestWall = 0;
  let count = -warmUp;
  const deadline = Date.now() + maxMs;
  let pending = Buffer.alloc(0);
  try {
    while ((count < 0 || !(await done())) && Date.now() < deadline) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      socket.write(`GET ${target} HTTP/1.1\r\nHost: t\r\n\r\n`);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        const m = end >= 0 ? /content-length: *(\d+)/i.exec(pending.toString('latin1', 0, end)) : null;
        if (m && pending.length >= end + 4 + Number(m[1])) {
          pending = pending.subarray(end + 4 + Number(m[1]));
          break;
        }
        pending = Buffer.concat([pending, await new Promise<Buffer>((r) => socket.once('data', r))]);
      }
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      if (count++ < 0) continue;
      longest = Math.max(longest, Math.min(wall, (cpu.user + cpu.system) / 1000));
      longestWall = Math.max(longestWall, wall);
    }
  } finally {
    socket.destroy();
  }
  return { longest, longestWall, count };
}

test('600,000 swarms expiring at once: no announce waits more than 50 ms behind the sweep', { timeout: 60_000 }, async (t) => {
  const store = new MemorySwarmStore(4000);
  const old = Date.now() - 60_000;
  const req: AnnounceRequest = { infoHash: Buffer.alloc(20), peerId: Buffer.alloc(20), ip: '127.0.0.1', family: 4, port: 6881, uploaded: 0, downloaded: 0, left: 1, event: 'none', numwant: 0, compact: true, noPeerId: true };
  const n = 600_000;
  // The store copies the key: one buffer, a different info_hash each time.
  const infoHash = randomBytes(20);
  req.infoHash = infoHash;
  for (let i = 0; i < n; i++) {
    infoHash.writeUInt32BE(i, 0);
    store.announce(req, old);
  }
  assert.equal((await store.counts()).swarms, n);
  // Building the store left garbage; collect it now, so that what is timed is the tracker's work.
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  // Interval 2 s: the sweep starts 1 s after the server, after the warm-up announces.
  const { tracker, port } = await inProcess(store, 2);
  try {
    const live = announceTarget({ infoHash: randomBytes(20), port: 6999 });
    const r = await roundTrips(port, live, async () => (await store.counts()).swarms <= 1, 30_000, 100);
    assert.equal((await store.counts()).swarms, 1, 'every silent swarm expired (the live one stays)');
    t.diagnostic(`${r.count} announces during expiry; longest wait ${r.longest.toFixed(1)} ms (wall ${r.longestWall.toFixed(1)} ms)`);
    assert.ok(r.count > 20, `${r.count} announces answered meanwhile`);
    assert.ok(r.longest < 50, `an announce waited ${r.longest.toFixed(1)} ms for the tracker while ${n} swarms expired (longest wall time ${r.longestWall.toFixed(1)} ms)`);
  } finally {
    await tracker.stop();
  }
});

test('/peers of a big swarm is paged: 1,000 a page, a total, bad pages refused', { timeout: 30_000 }, async () => {
  const store = new MemorySwarmStore(60_000);
  const h = randomBytes(20);
  const now = Date.now();
  const req: AnnounceRequest = { infoHash: h, peerId: Buffer.alloc(20), ip: '', family: 4, port: 6881, uploaded: 0, downloaded: 0, left: 1, event: 'none', numwant: 0, compact: true, noPeerId: true };
  for (let i = 0; i < 2500; i++) {
    req.ip = `10.0.${i >> 8}.${i & 255}`;
    store.announce(req, now);
  }
  const { tracker, port } = await inProcess(store, 1800);
  try {
    const page = async (q: string) => {
      const r = await httpGet(port, `/peers?info_hash=${h.toString('hex')}${q}`);
      return { status: r.status, json: JSON.parse(r.body.toString()), bytes: r.body.length };
    };
    const first = await page('');
    assert.equal(first.json.total, 2500);
    assert.equal(first.json.peers.length, 1000);
    assert.equal(first.json.per_page, 1000);
    assert.ok(first.bytes < 150_000, `a page is ${first.bytes} bytes`);
    const third = await page('&page=3');
    assert.equal(third.json.peers.length, 500);
    assert.equal((await page('&page=4')).json.peers.length, 0);
    const ips = new Set([...first.json.peers, ...(await page('&page=2')).json.peers, ...third.json.peers].map((p: { ip: string }) => p.ip));
    assert.equal(ips.size, 2500, 'the pages together hold every peer once');
    for (const bad of ['0', '-1', 'x', '1.5', '99999999999']) assert.equal((await page(`&page=${bad}`)).status, 400, `page=${bad}`);
  } finally {
    await tracker.stop();
  }
});

/** Raw requests on one socket (written one by one); their status lines and bodies in order. */
async function rawExchange(port: number, heads: string[]): Promise<Array<{ status: number; body: string }>> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const out: Array<{ status: number; body: string }> = [];
  let pending = '';
  const nextAnswer = async () => {
    for (;;) {
      const end = pending.indexOf('\r\n\r\n');
      const m = end >= 0 ? /content-length: *(\d+)/i.exec(pending.slice(0, end)) : null;
      if (m && pending.length >= end + 4 + Number(m[1])) {
        const a = { status: Number(pending.slice(9, 12)), body: pending.slice(end + 4, end + 4 + Number(m[1])) };
        pending = pending.slice(end + 4 + Number(m[1]));
        return a;
      }
      pending += await new Promise<string>((resolve, reject) => {
        socket.once('data', (d: Buffer) => resolve(d.toString('latin1')));
        socket.once('close', () => reject(new Error(`closed; ${out.length} answers`)));
      });
    }
  };
  try {
    for (const h of heads) {
      socket.write(h);
      out.push(await nextAnswer());
    }
  } finally {
    socket.destroy();
  }
  return out;
}

test('absolute-form request targets (RFC 9112): announce and scrape on the fast path, /peers and announce through Node', async () => {
  const store = new MemorySwarmStore(60_000);
  const { tracker, port } = await inProcess(store, 1800);
  try {
    const h = randomBytes(20);
    const abs = (target: string) => `GET http://127.0.0.1:${port}${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
    const [a1, s1, peers, a2] = await rawExchange(port, [
      abs(announceTarget({ infoHash: h, port: 6881 })),
      abs(`/scrape?info_hash=${h.toString('hex').replace(/../g, '%$&')}`),
      // Handed over to Node's HTTP server (Express), which keeps the connection from here on.
      abs(`/peers?info_hash=${h.toString('hex')}`),
      abs(announceTarget({ infoHash: h, port: 6882 })),
    ]);
    for (const a of [a1!, s1!, peers!, a2!]) assert.equal(a.status, 200, a.body);
    assert.equal(answer(Buffer.from(a1!.body, 'latin1'))['complete'], 0);
    assert.ok(isDict(answer(Buffer.from(s1!.body, 'latin1'))['files']), 'the scrape answer has a files dict');
    assert.equal(JSON.parse(peers!.body).total, 1);
    assert.equal(answer(Buffer.from(a2!.body, 'latin1'))['incomplete'], 2);
    // HTTP/1.0 goes to Node from the first request: absolute form there too.
    const [old] = await rawExchange(port, [abs(announceTarget({ infoHash: h, port: 6883 })).replace('HTTP/1.1', 'HTTP/1.0')]);
    assert.equal(old!.status, 200);
    assert.equal(answer(Buffer.from(old!.body, 'latin1'))['incomplete'], 3);
  } finally {
    await tracker.stop();
  }
});
