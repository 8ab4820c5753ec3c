/** uTP under loss and reordering (src/peer/utp/sender.ts recovery): a lossy UDP proxy between two endpoints. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { UtpSocket } from '../../../src/peer/utp/utp-socket.ts';
import { endpoints, exchange, lossyProxy, randomData, sha1 } from './helpers.ts';

for (const [loss, reorder, mib] of [
  [0.05, 0.05, 2],
  [0.1, 0.1, 1],
] as const) {
  test(`${loss * 100}% loss and ${reorder * 100}% reordering each way: ${mib} MiB both ways arrive exact, in bounded time`, async (t) => {
    const { a, b, close } = await endpoints();
    const proxy = await lossyProxy(b.address().port, loss, reorder);
    try {
      const accepted = once(b, 'connection') as Promise<[UtpSocket]>;
      // The SYN itself may be dropped: the connect retries it.
      const client = await a.connect('127.0.0.1', proxy.port, { timeoutMs: 10_000 });
      const [server] = await accepted;
      const up = randomData(mib << 20);
      const down = randomData(mib << 20);
      const t0 = performance.now();
      const { atServer, atClient } = await exchange(client, server, up, down);
      const secs = (performance.now() - t0) / 1000;
      assert.deepEqual(atServer, { bytes: up.length, sha1: sha1(up) });
      assert.deepEqual(atClient, { bytes: down.length, sha1: sha1(down) });
      assert.ok(proxy.stats.dropped > 50, `the proxy did drop datagrams: ${JSON.stringify(proxy.stats)}`);
      assert.ok(secs < 20, `took ${secs.toFixed(1)} s`);
      t.diagnostic(`${secs.toFixed(2)} s, proxy ${JSON.stringify(proxy.stats)}`);
    } finally {
      await proxy.close();
      await close();
    }
  });
}
