/**
 * Three real tracker processes (`node dist/tracker.js --store redis://... --secret S`) on one real
 * redis-server: one tracker, whichever process a client reaches. A peer announced through one
 * (HTTP or UDP) is given by the others (HTTP or UDP), and a UDP connection id minted by one is good
 * at another; completed counts and expiry agree; kill -9 of one leaves the others
 * serving; Redis stopped mid-run gives a `failure reason` (HTTP) or an error packet (UDP) at once, and the trackers serve again
 * by themselves once it is back (empty, refilled by re-announces). Unreachable at start: exit 1.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { decode, isBytes, isDict, isInt, type BDict } from '../../src/metainfo/bencode.ts';
import { freePort, TestScope, until, type Proc } from '../support/procs.ts';
import { redisSuite } from '../support/redis-suite.ts';
import { announcePacket, errorText, readAnnounceAnswer, UdpProbe } from '../tracker/udp/udp-probe.ts';

const INTERVAL = 2; // s: peers live 2 x 2 s, the expiry pass runs every 1 s
/** One tracker on several processes (or hosts) shares its store and its UDP connection-id key. */
const SECRET = 'redis-e2e-shared-secret';
const scope = new TestScope('p2p-redis-e2e-');
const trackers: Array<{ proc: Proc; port: number }> = [];

const pct = (b: Buffer) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');
const torrent = (n: number) => Buffer.alloc(20, n);

/** GET `target` from the tracker on `port` and decode the bencoded dict it answers. */
function getDict(port: number, target: string): Promise<BDict> {
  return new Promise((resolve, reject) => {
    const r = http.get({ host: '127.0.0.1', port, path: target, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const v = decode(Buffer.concat(chunks));
        if (isDict(v)) resolve(v);
        else reject(new Error(`not a bencoded dict: ${Buffer.concat(chunks).toString('latin1')}`));
      });
    });
    r.on('timeout', () => r.destroy(new Error(`no answer from :${port}${target}`)));
    r.on('error', reject);
  });
}

/** An announce of a leecher (`extra` can say otherwise: `&left=0&event=completed`). */
function announce(port: number, hash: Buffer, peerPort: number, extra = '&left=1'): Promise<BDict> {
  const id = Buffer.alloc(20, peerPort & 0xff);
  return getDict(port, `/announce?info_hash=${pct(hash)}&peer_id=${pct(id)}&port=${peerPort}&uploaded=0&downloaded=0&compact=1${extra}`);
}

/** The compact peers' ports of a successful answer (all are 127.0.0.1 here). */
function ports(d: BDict): number[] {
  assert.equal(d['failure reason'], undefined, `failure: ${String(d['failure reason'])}`);
  const p = d['peers'];
  assert.ok(isBytes(p), `compact peers are bytes: ${JSON.stringify(d)}`);
  const out: number[] = [];
  for (let at = 0; at + 6 <= p.length; at += 6) out.push(p.readUInt16BE(at + 4));
  return out.sort((a, b) => a - b);
}

async function scrape(port: number, hash: Buffer): Promise<{ complete: number; incomplete: number; downloaded: number }> {
  const d = await getDict(port, `/scrape?info_hash=${pct(hash)}`);
  const files = d['files'];
  assert.ok(isDict(files), `scrape: ${JSON.stringify(d)}`);
  const e = files[hash.toString('latin1')];
  assert.ok(
    isDict(e) && isInt(e['complete']) && isInt(e['incomplete']) && isInt(e['downloaded']),
    `scrape entry with integer complete, incomplete, downloaded: ${JSON.stringify(d)}`,
  );
  return { complete: e['complete'], incomplete: e['incomplete'], downloaded: e['downloaded'] };
}

async function startTrackerOn(url: string): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = scope.spawn('tracker', ['--port', String(port), '--interval', String(INTERVAL), '--store', url, '--secret', SECRET], { cwd: await scope.dir() });
  await proc.waitFor(/\* Running on http:\/\/127\.0\.0\.1:\d+/, 20_000);
  return { proc, port };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A BEP 15 announce of `peerPort` to the UDP side of the tracker on `port`: its answer datagram. */
async function udpAnnounce(probe: UdpProbe, connectionId: Buffer, hash: Buffer, peerPort: number): Promise<Buffer> {
  const packet = announcePacket({ connectionId, transactionId: probe.tid(), infoHash: hash, port: peerPort, numwant: 50 });
  const answer = await probe.ask(packet, 3000);
  assert.ok(answer, `no UDP answer from :${probe.trackerPort}`);
  return answer;
}

const udpPorts = (answer: Buffer) => readAnnounceAnswer(answer, 6).peers.map((p) => Number(p.split(':')[1])).sort((x, y) => x - y);

redisSuite('trackers on Redis need redis-server', () => scope.cleanup(), (redis) => {
  before(async () => {
    const url = (await redis()).url;
    trackers.push(...(await Promise.all([0, 1, 2].map(() => startTrackerOn(url)))));
  });

  test('a peer announced through one tracker process is given by the others; completed counts agree', async () => {
    const [a, b, c] = trackers.map((t) => t.port) as [number, number, number];
    const h = torrent(1);
    assert.deepEqual(ports(await announce(a, h, 7001)), []);
    assert.deepEqual(ports(await announce(b, h, 7002)), [7001]);
    assert.deepEqual(ports(await announce(c, h, 7003)), [7001, 7002]);
    ports(await announce(a, h, 7001, '&event=completed&left=0'));
    for (const port of [a, b, c]) assert.deepEqual(await scrape(port, h), { complete: 1, incomplete: 2, downloaded: 1 }, `scrape on :${port}`);
  });

  test('UDP and HTTP through different processes: one swarm; a connection id minted by one process is good at the others', async () => {
    const [a, b, c] = trackers.map((t) => t.port) as [number, number, number];
    const h = torrent(5);
    const probe = await UdpProbe.open('127.0.0.1', a);
    try {
      const id = await probe.connect();
      assert.deepEqual(udpPorts(await udpAnnounce(probe, id, h, 7401)), []);
      assert.deepEqual(ports(await announce(b, h, 7402)), [7401]);
      // The id that a minted, from the same client socket, to c's UDP side (same --secret).
      const tid = probe.tid();
      probe.socket.send(announcePacket({ connectionId: id, transactionId: tid, infoHash: h, port: 7403, numwant: 50 }), c, '127.0.0.1');
      const answer = await probe.receive(tid, 3000);
      assert.ok(answer, `no UDP answer from :${c}`);
      assert.deepEqual(udpPorts(answer), [7401, 7402], errorText(answer));
    } finally {
      probe.close();
    }
  });

  test('expiry agrees: a silent peer is gone from every process, one that re-announces stays', async () => {
    const [a, b, c] = trackers.map((t) => t.port) as [number, number, number];
    const h = torrent(2);
    await announce(a, h, 7101);
    await announce(b, h, 7102);
    // 7101 keeps announcing through a; 7102 falls silent. Peers live 4 s; the pass runs every 1 s.
    for (let i = 0; i < 7; i++) {
      await sleep(1000);
      ports(await announce(a, h, 7101));
    }
    for (const port of [a, b, c]) assert.deepEqual(await scrape(port, h), { complete: 0, incomplete: 1, downloaded: 0 }, `scrape on :${port}`);
    assert.deepEqual(ports(await announce(c, h, 7103)), [7101]);
  });

  test('kill -9 of one process leaves the others serving the same swarms', async () => {
    const h = torrent(3);
    const [victim, b, c] = trackers as [{ proc: Proc; port: number }, { proc: Proc; port: number }, { proc: Proc; port: number }];
    await announce(victim.port, h, 7201);
    victim.proc.kill('SIGKILL');
    await victim.proc.exited;
    assert.deepEqual(ports(await announce(b.port, h, 7202)), [7201]);
    assert.deepEqual(ports(await announce(c.port, h, 7203)), [7201, 7202]);
    // A process started again joins the same swarms (peers live 4 s: one is announced afresh).
    trackers[0] = await startTrackerOn((await redis()).url);
    await announce(b.port, h, 7205);
    assert.ok(ports(await announce(trackers[0]!.port, h, 7204)).includes(7205), 'the restarted tracker lists the peer on 7205 announced through the other one');
  });

  test('Redis stopped mid-run: failure reason (HTTP) and error packet (UDP) at once, no crash; restarted empty: served again by itself and refilled', async () => {
    const [a, b, c] = trackers.map((t) => t.port) as [number, number, number];
    const h = torrent(4);
    const server = await redis();
    await announce(a, h, 7301);
    await server.stop();
    const started = performance.now();
    const refused = await announce(b, h, 7302);
    assert.match(String(refused['failure reason']), /store unavailable/);
    assert.ok(performance.now() - started < 1000, `refused after ${performance.now() - started} ms`);
    assert.match(String((await getDict(c, `/scrape?info_hash=${pct(h)}`))['failure reason']), /store unavailable/);
    const probe = await UdpProbe.open('127.0.0.1', c);
    try {
      const answer = await udpAnnounce(probe, await probe.connect(), h, 7304);
      assert.equal(answer.readUInt32BE(0), 3, 'an error packet (action 3), no peer list');
      assert.match(errorText(answer), /store unavailable/);
    } finally {
      probe.close();
    }
    await sleep(1500); // an expiry pass runs meanwhile: skipped, not fatal
    for (const t of trackers) assert.equal(t.proc.child.exitCode, null, `tracker :${t.port} still running\n${t.proc.err()}`);
    await server.start();
    for (const [i, port] of [a, b, c].entries()) {
      await until(async () => announce(port, h, 7310 + i).then((d) => d['failure reason'] === undefined, () => false), 10_000, () => `:${port} not serving again`);
    }
    // Empty after the restart: only the re-announced peers are there.
    assert.deepEqual(ports(await announce(a, h, 7301)).length, 3);
    for (const t of trackers) assert.doesNotMatch(t.proc.err(), /Unhandled|uncaught|TypeError/i);
  });

  test('Redis unreachable at start: one line naming the address, exit status 1', async () => {
    const port = await freePort();
    const proc = scope.spawn('tracker', ['--port', String(await freePort()), '--store', `redis://127.0.0.1:${port}`], { cwd: await scope.dir() });
    assert.equal(await proc.exited, 1);
    assert.match(proc.err(), new RegExp(`cannot reach Redis at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    assert.equal(proc.err().trim().split('\n').length, 1, proc.err());
  });
});
