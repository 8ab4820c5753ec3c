/**
 * `--workers 2 --store redis://...`: one real tracker program, a node:cluster of two processes on
 * one real redis-server. Both workers serve (by pid in /stats), one Running line, the numbers of
 * /metrics and /stats add up over the workers (the store's gauges once), the workers share one
 * UDP secret (UDP announces never meet a bad connection id), SIGHUP reaches every worker, kill -9 of a worker -> restarted, still serving; a
 * worker that cannot start (port taken, Redis unreachable) -> one line, exit non-zero.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decode, isDict, isInt, type BDict } from '../../src/metainfo/bencode.ts';
import { rawRequest } from '../support/raw-request.ts';
import { freePort, TestScope, until, within, type Proc } from '../support/procs.ts';
import { redisSuite } from '../support/redis-suite.ts';
import { parseExposition, sample } from '../tracker/metrics/prom-text.ts';
import { announcePacket, errorText, UdpProbe } from '../tracker/udp/udp-probe.ts';

const scope = new TestScope('p2p-workers-');

const pct = (b: Buffer) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');
const torrent = (n: number) => Buffer.alloc(20, n);

/** One announce over a fresh connection (`Connection: close`: the cluster spreads connections). */
async function announce(port: number, hash: Buffer, peerPort: number): Promise<BDict> {
  const q = `info_hash=${pct(hash)}&peer_id=${pct(Buffer.alloc(20, peerPort & 0xff))}&port=${peerPort}&uploaded=0&downloaded=0&left=1&compact=1`;
  // A deadline: a connection handed to a worker at the moment it dies stays with the primary.
  const r = await within(rawRequest({ port, path: `/announce?${q}` }), 10_000, `announce on :${port}`);
  const d = decode(r.body);
  assert.ok(isDict(d), r.body.toString('latin1'));
  return d;
}

interface Stats {
  swarms: number;
  peers: number;
  requests: { http: { announce: { ok: number; failed: number } } };
  failures: Record<string, number>;
  processes: Array<{ pid: number; announces: number }>;
}

async function stats(port: number): Promise<Stats> {
  const r = await within(rawRequest({ port, path: '/stats' }), 10_000, `/stats on :${port}`);
  assert.equal(r.status, 200, r.body.toString());
  return JSON.parse(r.body.toString()) as Stats;
}

/** The worker pids: children of the primary, read from /proc. */
async function childPids(parent: number): Promise<number[]> {
  const out = await readFile(`/proc/${parent}/task/${parent}/children`, 'utf8');
  return out.trim().split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b);
}

async function startCluster(storeUrl: string, extra: string[]): Promise<{ proc: Proc; port: number; metricsPort: number; dir: string }> {
  const dir = await scope.dir();
  const [port, metricsPort] = [await freePort(), await freePort()];
  const args = ['--port', String(port), '--workers', '2', '--store', storeUrl, '--metrics-port', String(metricsPort), ...extra];
  const proc = scope.spawn('tracker', args, { cwd: dir });
  await proc.waitFor(/\* Running on http:\/\/127\.0\.0\.1:\d+/, 30_000);
  return { proc, port, metricsPort, dir };
}

redisSuite('--workers on Redis needs redis-server', () => scope.cleanup(), (redis) => {
  test('--workers 2: both serve one shared swarm, the numbers add up, kill -9 of a worker -> restarted', async (t) => {
    const listFile = path.join(await scope.dir(), 'whitelist');
    await writeFile(listFile, `${torrent(1).toString('hex')}\n`);
    const { proc, port, metricsPort } = await startCluster((await redis()).url, ['--whitelist', listFile]);
    t.after(() => console.log(`tracker stderr:\n${proc.err()}`));
    const workers = await childPids(proc.child.pid!);
    assert.equal(workers.length, 2);
    // One secret for both (their UDP connection ids must agree), random since none was given.
    const secrets = await Promise.all(workers.map(async (pid) => /(?:^|\0)TRACKER_SECRET=([^\0]*)/.exec(await readFile(`/proc/${pid}/environ`, 'latin1'))?.[1]));
    assert.match(secrets[0] ?? '', /^[0-9a-f]{64}$/);
    assert.equal(secrets[1], secrets[0]);

    // 20 peers of one torrent, each on a fresh connection: one swarm, whichever worker answers.
    let ok = 0;
    for (let i = 0; i < 20; i++) {
      const d = await announce(port, torrent(1), 7000 + i);
      assert.equal(d['failure reason'], undefined);
      assert.ok(isInt(d['incomplete']), `an announce answer has an integer incomplete: ${JSON.stringify(d)}`);
      assert.equal(d['incomplete'], i + 1, 'every worker sees the peers the other stored');
      ok++;
    }
    const refused = await announce(port, torrent(2), 7100);
    assert.equal(String(refused['failure reason']), 'torrent not registered');
    /** Re-announce the 20 peers, 20 connections at once, until `done` (the kernel or the primary picks the worker). */
    const spreadUntil = (done: (s: Stats) => boolean, what: string) =>
      until(
        async () => {
          const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => announce(port, torrent(1), 7000 + i)));
          for (const d of answers) assert.equal(d['failure reason'], undefined);
          ok += answers.length;
          return done(await stats(port));
        },
        20_000,
        () => what,
      );
    await spreadUntil((s) => s.processes.length === 2 && s.processes.every((p) => p.announces > 0), 'both workers serve');

    const s = await stats(port);
    assert.deepEqual(
      s.processes.map((p) => p.pid),
      workers,
    );
    assert.equal(
      s.processes.reduce((n, p) => n + p.announces, 0),
      ok + 1,
    );
    assert.deepEqual(s.requests.http.announce, { ok, failed: 1 });
    assert.equal(s.failures['not_registered'], 1);
    assert.equal(s.swarms, 1, 'the shared store counted once');
    assert.equal(s.peers, 20);
    for (const p of [port, metricsPort]) {
      const e = parseExposition((await within(rawRequest({ port: p, path: '/metrics' }), 10_000, '/metrics')).body.toString());
      assert.equal(sample(e, 'tracker_processes'), 2);
      assert.equal(sample(e, 'tracker_requests_total', { transport: 'http', kind: 'announce', outcome: 'ok' }), ok);
      assert.equal(sample(e, 'tracker_failures_total', { reason: 'not_registered' }), 1);
      assert.equal(sample(e, 'tracker_swarms'), 1);
      assert.equal(sample(e, 'tracker_peers', { role: 'leecher' }), 20);
      assert.equal(sample(e, 'tracker_answer_seconds_count', { transport: 'http' }), ok + 1);
      assert.ok(
        sample(e, 'tracker_store_round_trip_seconds_count') >= ok + 1,
        `at least ${ok + 1} store round trips counted: ${sample(e, 'tracker_store_round_trip_seconds_count')}`,
      );
    }

    // UDP: the workers share the port's socket, each datagram goes to either; an id minted by
    // one is accepted by the other (one secret), so no announce meets a bad connection id.
    const probes = await Promise.all(Array.from({ length: 8 }, () => UdpProbe.open('127.0.0.1', port)));
    try {
      for (const probe of probes) {
        const id = await probe.connect();
        for (let i = 0; i < 4; i++) {
          const a = await probe.ask(announcePacket({ connectionId: id, transactionId: probe.tid(), infoHash: torrent(1), port: probe.port }));
          assert.ok(a !== null && a.readUInt32BE(0) === 1, `announce answered: ${a === null ? 'nothing' : errorText(a)}`);
        }
      }
    } finally {
      for (const probe of probes) probe.socket.close();
    }
    const u = parseExposition((await within(rawRequest({ port: metricsPort, path: '/metrics' }), 10_000, '/metrics')).body.toString());
    assert.equal(sample(u, 'tracker_requests_total', { transport: 'udp', kind: 'announce', outcome: 'ok' }), 32);
    assert.equal(sample(u, 'tracker_requests_total', { transport: 'udp', kind: 'connect', outcome: 'ok' }), 8);
    assert.equal(sample(u, 'tracker_failures_total', { reason: 'bad_connection_id' }), 0);

    // SIGHUP to the primary: every worker re-reads the whitelist (torrent 2 now tracked by both).
    await writeFile(listFile, `${torrent(1).toString('hex')}\n${torrent(2).toString('hex')}\n`);
    proc.kill('SIGHUP');
    await until(() => (proc.out().match(/Torrent lists re-read: 2 whitelisted/g) ?? []).length === 2, 10_000, () => proc.out());
    const hup = await Promise.all(Array.from({ length: 10 }, (_, i) => announce(port, torrent(2), 7200 + i)));
    for (const d of hup) assert.equal(d['failure reason'], undefined);
    ok += hup.length;

    // kill -9 of one worker: once the primary has seen it die, the other serves alone, and a
    // new worker takes its place. (Before that, a connection the primary hands to the dead
    // worker is lost: a client's retry covers it, the test waits for the primary's line.)
    process.kill(workers[0]!, 'SIGKILL');
    await proc.waitFor(new RegExp(`worker ${workers[0]} killed by SIGKILL; restarting it in \\d+ ms`), 10_000);
    for (let i = 0; i < 5; i++, ok++) assert.equal((await announce(port, torrent(1), 7300 + i))['failure reason'], undefined);
    await until(
      async () => {
        const now = await childPids(proc.child.pid!);
        return now.length === 2 && !now.includes(workers[0]!);
      },
      20_000,
      () => proc.err(),
    );
    const fresh = (await childPids(proc.child.pid!)).find((pid) => pid !== workers[1])!;
    await spreadUntil((s) => s.processes.some((p) => p.pid === fresh && p.announces > 0), `the new worker ${fresh} serves`);
    const after = await stats(port);
    assert.deepEqual(
      after.processes.map((p) => p.pid),
      [workers[1]!, fresh].sort((a, b) => a - b),
    );
    // The dead worker's numbers up to the last scrape stay counted: the total never goes down.
    assert.ok(after.requests.http.announce.ok >= ok - 5 - 10, `counters did not go down: ${JSON.stringify(after.requests.http.announce)} of ${ok}`);
    assert.equal((proc.out().match(/\* Running on/g) ?? []).length, 1, 'one Running line');

    proc.kill('SIGTERM');
    assert.equal(await within(proc.exited, 15_000, 'primary exit on SIGTERM'), 0);
    for (const pid of [workers[1]!, fresh]) assert.throws(() => process.kill(pid, 0), 'worker gone');
  });

  test('--workers 2: a worker that cannot start -> one line, exit non-zero', async () => {
    const blocker = net.createServer();
    const taken = await freePort();
    await new Promise<void>((resolve) => blocker.listen(taken, '127.0.0.1', resolve));
    try {
      const busy = scope.spawn('tracker', ['--port', String(taken), '--workers', '2', '--store', (await redis()).url, '--no-udp'], { cwd: await scope.dir() });
      assert.notEqual(await within(busy.exited, 30_000, 'exit on a taken port'), 0);
      assert.match(busy.err(), new RegExp(`^Error: cannot listen on 127\\.0\\.0\\.1:${taken}: .*\\n$`));
      assert.doesNotMatch(busy.out(), /Running/);
    } finally {
      blocker.close();
    }
    const nowhere = await freePort();
    const noRedis = scope.spawn('tracker', ['--port', String(await freePort()), '--workers', '2', '--store', `redis://127.0.0.1:${nowhere}`], { cwd: await scope.dir() });
    assert.notEqual(await within(noRedis.exited, 30_000, 'exit without Redis'), 0);
    assert.match(noRedis.err(), /^Error: [^\n]*\n$/, 'one line');
    assert.match(noRedis.err(), new RegExp(`${nowhere}`));
  });
});
