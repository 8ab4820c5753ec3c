/**
 * /metrics and /stats of the real tracker program: HTTP and UDP announces and refusals show in both, on the
 * public port and on `--metrics-port` (which serves nothing else); a taken metrics port is a
 * one-line error and a non-zero exit.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { rawRequest } from '../../support/raw-request.ts';
import { freePort, TestScope, within } from '../../support/procs.ts';
import { parseExposition, sample } from './prom-text.ts';
import { announcePacket, UdpProbe } from '../udp/udp-probe.ts';

const scope = new TestScope('p2p-metrics-');
after(() => scope.cleanup());

const hash = (byte: string) => byte.repeat(20);
const announcePath = (h: string, port: number, left: number) => `/announce?info_hash=${h}&peer_id=${'%41'.repeat(20)}&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=1`;

async function getText(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  const r = await rawRequest({ port, path });
  return { status: r.status, type: String(r.headers['content-type']), body: r.body.toString('utf8') };
}

test('a real tracker: announces, a refusal and a scrape show in /metrics and /stats, on both ports', async () => {
  const cwd = await scope.dir();
  const [port, metricsPort] = [await freePort(), await freePort()];
  const proc = scope.spawn('tracker', ['--port', String(port), '--metrics-port', String(metricsPort)], { cwd });
  await proc.waitFor(/\* Running on http:\/\/127\.0\.0\.1:\d+/);

  assert.equal((await rawRequest({ port, path: announcePath(hash('%11'), 7001, 0) })).status, 200);
  assert.equal((await rawRequest({ port, path: announcePath(hash('%11'), 7002, 10) })).status, 200);
  assert.equal((await rawRequest({ port, path: announcePath(hash('%22'), 7003, 10) })).status, 200);
  const refused = await rawRequest({ port, path: '/announce?info_hash=%11&port=1' });
  assert.match(refused.body.toString('latin1'), /failure reason/);
  await rawRequest({ port, path: `/scrape?info_hash=${hash('%11')}` });
  // UDP (on by default, the same port number): a connect, an announce, one with a forged id.
  const probe = await UdpProbe.open('127.0.0.1', port);
  try {
    const id = await probe.connect();
    const ok = await probe.ask(announcePacket({ connectionId: id, transactionId: probe.tid(), infoHash: Buffer.alloc(20, 0x33), port: 7005 }));
    assert.equal(ok?.readUInt32BE(0), 1);
    const forged = await probe.ask(announcePacket({ connectionId: Buffer.alloc(8, 7), transactionId: probe.tid(), infoHash: Buffer.alloc(20, 0x33), port: 7006 }));
    assert.equal(forged?.readUInt32BE(0), 3);
  } finally {
    probe.socket.close();
  }

  for (const p of [port, metricsPort]) {
    const m = await getText(p, '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.type, /^text\/plain; version=0\.0\.4/);
    const e = parseExposition(m.body);
    assert.equal(sample(e, 'tracker_requests_total', { transport: 'http', kind: 'announce', outcome: 'ok' }), 3);
    assert.equal(sample(e, 'tracker_requests_total', { transport: 'http', kind: 'announce', outcome: 'failed' }), 1);
    assert.equal(sample(e, 'tracker_requests_total', { transport: 'http', kind: 'scrape', outcome: 'ok' }), 1);
    assert.equal(sample(e, 'tracker_failures_total', { reason: 'bad_request' }), 1);
    assert.equal(sample(e, 'tracker_requests_total', { transport: 'udp', kind: 'connect', outcome: 'ok' }), 1);
    assert.equal(sample(e, 'tracker_requests_total', { transport: 'udp', kind: 'announce', outcome: 'ok' }), 1);
    assert.equal(sample(e, 'tracker_requests_total', { transport: 'udp', kind: 'announce', outcome: 'failed' }), 1);
    assert.equal(sample(e, 'tracker_failures_total', { reason: 'bad_connection_id' }), 1);
    assert.equal(sample(e, 'tracker_swarms'), 3);
    assert.equal(sample(e, 'tracker_peers', { role: 'seeder' }), 1);
    assert.equal(sample(e, 'tracker_peers', { role: 'leecher' }), 3);
    assert.equal(sample(e, 'tracker_answer_seconds_count', { transport: 'http' }), 5);
    assert.equal(sample(e, 'tracker_processes'), 1);
    assert.ok(sample(e, 'process_resident_memory_bytes') > 0, `process_resident_memory_bytes is reported: ${sample(e, 'process_resident_memory_bytes')}`);

    const s = await getText(p, '/stats');
    assert.equal(s.status, 200);
    assert.match(s.type, /^application\/json/);
    const stats = JSON.parse(s.body) as Record<string, any>;
    assert.equal(stats['swarms'], 3);
    assert.equal(stats['peers'], 4);
    assert.equal(stats['seeders'], 1);
    assert.equal(stats['leechers'], 3);
    assert.deepEqual(stats['requests']['http']['announce'], { ok: 3, failed: 1 });
    assert.equal(stats['failures']['bad_request'], 1);
    assert.equal(stats['latency_seconds']['http']['count'], 5);
    assert.deepEqual(stats['requests']['udp']['announce'], { ok: 1, failed: 1 });
    assert.deepEqual(stats['processes'], [{ pid: proc.child.pid, announces: 6, scrapes: 1, connects: 1, failed: 2 }]);
  }

  // The metrics port serves the numbers only.
  assert.equal((await getText(metricsPort, announcePath(hash('%11'), 7004, 0))).status, 404);
  assert.equal((await getText(metricsPort, '/peers')).status, 404);
  assert.equal((await rawRequest({ port: metricsPort, path: '/metrics', method: 'POST' })).status, 405);
  // The scrapes above were not counted as tracker requests.
  const again = parseExposition((await getText(port, '/metrics')).body);
  assert.equal(sample(again, 'tracker_requests_total', { transport: 'http', kind: 'announce', outcome: 'ok' }), 3);
  proc.kill('SIGTERM');
  assert.equal(await within(proc.exited, 10_000, 'tracker exit on SIGTERM'), 0);
});

test('a taken --metrics-port: one line on stderr, exit non-zero, the tracker port released', async () => {
  const cwd = await scope.dir();
  const blocker = net.createServer();
  const metricsPort = await freePort();
  await new Promise<void>((resolve) => blocker.listen(metricsPort, '127.0.0.1', resolve));
  try {
    const port = await freePort();
    const proc = scope.spawn('tracker', ['--port', String(port), '--metrics-port', String(metricsPort)], { cwd });
    assert.notEqual(await within(proc.exited, 15_000, 'tracker exit'), 0);
    assert.match(proc.err(), new RegExp(`^Error: cannot listen on 127\\.0\\.0\\.1:${metricsPort}: the metrics port is in use by another program; choose another with --metrics-port\\n$`));
    assert.doesNotMatch(proc.out(), /Running/);
  } finally {
    blocker.close();
  }
});
