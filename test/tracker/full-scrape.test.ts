/**
 * BEP 48's scrape without an info_hash (a "full scrape"): every swarm's counts, bounded: the
 * busiest 100 a page, `page=N` for the next (20 pages at most). In-process tracker, real HTTP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { decode, isDict, isInt, type BDict } from '../../src/metainfo/bencode.ts';
import { startTracker, stopWithin, pct } from '../support/tracker-raw-http.ts';

function get(port: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks)));
    }).on('error', reject);
  });
}

function hashOf(i: number): Buffer {
  const h = Buffer.alloc(20, 0x11);
  h.writeUInt32BE(i, 0);
  return h;
}

async function announce(port: number, hash: Buffer, peer: number, left: number): Promise<void> {
  const id = Buffer.from(`-XX0001-${String(peer).padStart(12, '0')}`);
  await get(port, `/announce?info_hash=${pct(hash)}&peer_id=${pct(id)}&port=${10_000 + peer}&uploaded=0&downloaded=0&left=${left}&compact=1`);
}

function files(body: Buffer): Map<string, BDict> {
  const d = decode(body);
  assert.ok(isDict(d) && isDict(d['files']), body.toString('latin1'));
  return new Map(Object.entries(d['files'] as BDict).map(([k, v]) => [Buffer.from(k, 'latin1').toString('hex'), v as BDict]));
}

test('a scrape without info_hash lists every swarm with its counts, busiest first, 100 a page', { timeout: 60_000 }, async () => {
  const t = await startTracker();
  try {
    // Swarm 0: 2 seeders + 1 leecher; swarms 1..104: one leecher each.
    await announce(t.port, hashOf(0), 1, 0);
    await announce(t.port, hashOf(0), 2, 0);
    await announce(t.port, hashOf(0), 3, 500);
    for (let i = 1; i <= 104; i++) await announce(t.port, hashOf(i), 100 + i, 1);
    const first = files(await get(t.port, '/scrape'));
    assert.equal(first.size, 100, 'a page is 100 swarms');
    const top = first.get(hashOf(0).toString('hex'));
    assert.ok(top, 'the busiest swarm is on the first page');
    assert.ok(
      isInt(top['complete']) && top['complete'] === 2 && top['incomplete'] === 1 && top['downloaded'] === 0,
      `the busiest swarm has 2 seeders, 1 leecher, 0 downloaded: ${JSON.stringify(top)}`,
    );
    const second = files(await get(t.port, '/scrape?page=2'));
    assert.equal(second.size, 5);
    for (const k of second.keys()) assert.ok(!first.has(k), 'pages do not overlap');
    assert.equal(files(await get(t.port, '/scrape?page=3')).size, 0, 'past the end: empty');
    assert.equal(files(await get(t.port, '/scrape?page=99999')).size, 0, 'a page past the bound is the last page');
    // One info_hash still scrapes just that swarm.
    assert.equal(files(await get(t.port, `/scrape?info_hash=${pct(hashOf(7))}`)).size, 1);
  } finally {
    await stopWithin(t, 5000);
  }
});
