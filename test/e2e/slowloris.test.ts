/**
 * Slowloris on connections that a front door hands over to Node's HTTP server — the tracker's
 * fast path (anything but a plain announce/scrape) and the peer's one port (anything but a
 * BitTorrent handshake): a client that sends part of a request head and then nothing is cut
 * after the head timeout (15 s, checked every second), and others are served meanwhile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createTrackerServer } from '../../src/tracker/http/server.ts';
import { MemorySwarmStore } from '../../src/tracker/store/memory-store.ts';
import { trackerConfig } from '../../src/tracker/service.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import { listen } from '../../src/net/server-timeouts.ts';

const HEAD_TIMEOUT_MS = 15_000;

/** Send `partial`, then nothing: resolves with the ms until the server closed the socket. */
function holdOpen(port: number, partial: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect(port, '127.0.0.1', () => s.write(partial));
    s.on('data', () => {}); // a 408 before the close is fine
    s.on('error', () => {});
    s.on('close', () => resolve(Date.now() - t0));
    setTimeout(() => {
      s.destroy();
      reject(new Error(`still open after ${HEAD_TIMEOUT_MS + 10_000} ms`));
    }, HEAD_TIMEOUT_MS + 10_000).unref();
  });
}

function getStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`));
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0)));
  });
}

test('a partial head handed over to Node HTTP is cut after the head timeout (tracker and peer ports)', { timeout: 40_000 }, async () => {
  const tracker = createTrackerServer(new MemorySwarmStore(60_000), trackerConfig(30));
  await listen(tracker.server, 0, '127.0.0.1');
  const trackerPort = (tracker.server.address() as AddressInfo).port;
  const peer = new PeerNode();
  await peer.listen(0, '127.0.0.1');
  try {
    const held = [
      holdOpen(trackerPort, 'POST /announce HTTP/1.1\r\nHost: t\r\n'), // not the fast path's
      holdOpen(trackerPort, 'GET /peers?info_hash='),
      holdOpen(peer.port, 'GET /stats HTTP/1.1\r\nHost: t\r\n'),
    ];
    // Meanwhile both servers answer others.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await getStatus(trackerPort, '/nothing-here'), 404);
    assert.equal(await getStatus(peer.port, '/stats'), 200);
    for (const ms of await Promise.all(held)) {
      assert.ok(ms >= HEAD_TIMEOUT_MS - 500 && ms <= HEAD_TIMEOUT_MS + 3_000, `closed after ${ms} ms (head timeout ${HEAD_TIMEOUT_MS} ms)`);
    }
  } finally {
    await tracker.stop();
    await peer.close();
  }
});
