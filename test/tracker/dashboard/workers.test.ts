/**
 * `--workers 2 --store redis://...`: the dashboard of any worker shows the whole tracker (every
 * worker's counters through the primary, the shared store's swarms), and lists Redis's swarms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawRequest } from '../../support/raw-request.ts';
import { freePort, TestScope, within } from '../../support/procs.ts';
import { redisSuite } from '../../support/redis-suite.ts';

const scope = new TestScope('p2p-dash-workers-');

const pct = (b: Buffer) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');

async function get(port: number, path: string): Promise<Record<string, unknown>> {
  const r = await within(rawRequest({ port, path }), 10_000, `${path} on :${port}`);
  assert.equal(r.status, 200, r.body.toString());
  return JSON.parse(r.body.toString()) as Record<string, unknown>;
}

redisSuite('the dashboard on --workers needs redis-server', () => scope.cleanup(), (redis) => {
  test('two workers on one Redis: one view of all, whichever worker answers', async () => {
    const port = await freePort();
    const proc = scope.spawn('tracker', ['--port', String(port), '--no-udp', '--workers', '2', '--store', (await redis()).url], { cwd: await scope.dir() });
    await proc.waitFor(/\* Running on http:\/\/127\.0\.0\.1:\d+/, 20_000);
    // 12 announces over fresh connections (the cluster spreads them over both workers): 4 torrents x 3 peers, one seeder each.
    for (let i = 0; i < 12; i++) {
      const q = `info_hash=${pct(Buffer.alloc(20, 1 + (i % 4)))}&peer_id=${pct(Buffer.alloc(20, 65 + i))}&port=${7000 + i}&uploaded=0&downloaded=0&left=${i < 4 ? 0 : 1}&compact=1`;
      assert.equal((await rawRequest({ port, path: `/announce?${q}` })).status, 200);
    }
    // Several reads: connections land on either worker, and each sees the same whole.
    for (let k = 0; k < 4; k++) {
      const s = await get(port, '/api/stats');
      assert.deepEqual([s['store'], s['processes'], s['swarms'], s['peers'], s['seeders'], s['announces']], ['redis', 2, 4, 12, 4, 12]);
    }
    const swarms = await get(port, '/api/swarms?sort=info_hash&order=asc');
    const rows = swarms['swarms'] as Array<Record<string, unknown>>;
    assert.deepEqual(rows.map((r) => r['info_hash']), [1, 2, 3, 4].map((n) => Buffer.alloc(20, n).toString('hex')));
    assert.deepEqual(rows.map((r) => [r['seeders'], r['leechers']]), [[1, 2], [1, 2], [1, 2], [1, 2]]);
    assert.ok((rows[0]!['last_announce'] as number) > Date.now() - 60_000, `last_announce within the last minute: ${String(rows[0]!['last_announce'])}`);
    const one = await get(port, `/api/swarms/${Buffer.alloc(20, 2).toString('hex')}`);
    assert.equal(one['total_peers'], 3);
  });
});
