/**
 * The tracker dashboard's JSON and server-rendered pages, against the real tracker program after
 * scripted announces: counts, failures, paging, sorting, search, bounds, a swarm's peers, escaping.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { TestScope } from '../../support/procs.ts';
import { DashboardWorld, HOSTILE, HOSTILE_PEER_ID, nameOf, scriptedSwarm, torrent } from './world.ts';

const scope = new TestScope('p2p-dash-api-');
let w: DashboardWorld;
before(async () => {
  w = await DashboardWorld.start(scope);
  await scriptedSwarm(w);
  await w.announceUnknown();
});
after(() => scope.cleanup());

type Row = { info_hash: string; name: string | null; seeders: number; leechers: number; completed: number; last_announce: number };

test('/api/stats: totals after the scripted announces, refusals by reason, store, processes', async () => {
  const { status, body: s } = await w.json('/api/stats');
  assert.equal(status, 200);
  // 13 swarms; seeders: 1 (torrent 0) + sum of i % 4 for 1..12 (18) + torrent 5's leecher completing.
  assert.deepEqual([s['swarms'], s['seeders'], s['leechers'], s['peers'], s['completed']], [13, 20, 11, 31, 1]);
  assert.equal(s['store'], 'memory');
  assert.equal(s['processes'], 1);
  assert.equal(s['announces'], 1 + 18 + 12 + 1 + 1);
  assert.equal((s['failures'] as Record<string, number>)['not_registered'], 1);
  assert.ok(Array.isArray(s['history']), `history is an array: ${JSON.stringify(s['history'])}`);
});

test('/api/swarms: sorted pages, bounded size, search by prefix, names from the whitelist', async () => {
  const bySeeders = await w.json('/api/swarms?sort=seeders&order=desc&per_page=5');
  const rows = bySeeders.body['swarms'] as Row[];
  assert.equal(bySeeders.body['total'], 13);
  assert.equal(bySeeders.body['pages'], 3);
  assert.equal(rows.length, 5);
  // Torrents 3, 7, 11 have 3 seeders; 2, 6, 10 have 2, and 5 too once its leecher completed.
  assert.deepEqual(rows.map((r) => r.seeders), [3, 3, 3, 2, 2]);
  assert.deepEqual(rows.slice(0, 3).map((r) => r.info_hash), [3, 7, 11].map(torrent).sort());
  assert.deepEqual(rows.slice(0, 3).map((r) => r.name).sort(), [3, 7, 11].map(nameOf).sort());
  const five = (await w.json(`/api/swarms?q=${torrent(5)}`)).body['swarms'] as Row[];
  assert.deepEqual(five.map((r) => [r.seeders, r.leechers, r.completed]), [[2, 0, 1]]);
  const page3 = (await w.json('/api/swarms?sort=seeders&order=desc&per_page=5&page=3')).body['swarms'] as Row[];
  assert.equal(page3.length, 3);
  const all = (await w.json('/api/swarms?sort=info_hash&order=asc&per_page=100')).body['swarms'] as Row[];
  assert.deepEqual(all.map((r) => r.info_hash), [...all.map((r) => r.info_hash)].sort());
  assert.equal(all.find((r) => r.info_hash === torrent(0))?.name, HOSTILE);
  const found = await w.json(`/api/swarms?q=${torrent(7).slice(0, 6).toUpperCase()}`);
  assert.ok(
    (found.body['swarms'] as Row[]).some((r) => r.info_hash === torrent(7)),
    `the search for ${torrent(7).slice(0, 6).toUpperCase()} finds ${torrent(7)}`,
  );
  for (const r of found.body['swarms'] as Row[]) assert.ok(r.info_hash.startsWith(torrent(7).slice(0, 6)), `starts with the prefix: ${r.info_hash}`);
  const latest = (await w.json('/api/swarms?sort=last_announce&order=desc&per_page=1')).body['swarms'] as Row[];
  assert.equal(latest[0]!.info_hash, torrent(5));
  for (const bad of ['per_page=101', 'per_page=0', 'page=0', 'page=401', 'sort=name', 'order=up', 'q=xyz', `q=${'a'.repeat(41)}`]) {
    const r = await w.json(`/api/swarms?${bad}`);
    assert.equal(r.status, 400, bad);
    assert.equal(typeof r.body['error'], 'string');
  }
});

test('/api/swarms/<hex>: counts and peers with their client, the hostile peer_id as a string', async () => {
  const five = await w.json(`/api/swarms/${torrent(5)}`);
  assert.deepEqual([five.body['seeders'], five.body['leechers'], five.body['completed'], five.body['total_peers']], [2, 0, 1, 2]);
  const peers = five.body['peers'] as Array<Record<string, unknown>>;
  assert.deepEqual(peers.map((p) => p['client']), ['qBittorrent 4.5.2', 'qBittorrent 4.5.2']);
  assert.deepEqual(peers.map((p) => p['port']).sort(), [11050, 20005]);
  const zero = await w.json(`/api/swarms/${torrent(0)}`);
  assert.equal(zero.body['name'], HOSTILE);
  assert.equal((zero.body['peers'] as Array<Record<string, unknown>>)[0]!['peer_id_text'], HOSTILE_PEER_ID);
  assert.equal((await w.json('/api/swarms/xyz')).status, 400);
  assert.equal((await w.json(`/api/swarms/${torrent(1)}?page=0`)).status, 400);
  const unknown = await w.json(`/api/swarms/${'ee'.repeat(20)}`);
  assert.deepEqual([unknown.status, unknown.body['total_peers']], [200, 0]);
});

test('the pages carry their numbers (JavaScript off), escape every network string, and send a CSP', async () => {
  const home = await w.text('/?sort=seeders&order=desc&per_page=100');
  assert.equal(home.status, 200);
  assert.match(String(home.headers['content-security-policy']), /default-src 'self'/);
  assert.match(home.body, /data-slot="swarms">13</);
  assert.match(home.body, /data-slot="seeders">20</);
  assert.match(home.body, /data-slot="failure_not_registered">1</);
  assert.ok(home.body.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the home page shows the hostile name escaped');
  assert.ok(!home.body.includes('<img'), 'no raw <img> on the home page');
  const swarm = await w.text(`/swarm/${torrent(0)}`);
  assert.ok(swarm.body.includes('&lt;img src=x onerror=a</td>'), 'the swarm page shows the hostile name escaped and cut');
  assert.ok(!swarm.body.includes('<img'), 'no raw <img> on the swarm page');
  assert.equal((await w.text('/swarm/nothex')).status, 400);
  assert.equal((await w.text('/?sort=nope')).status, 400);
  const js = await w.text('/static/tracker.js');
  assert.equal(js.status, 200);
  assert.match(String(js.headers['content-type']), /^text\/javascript/);
  assert.equal((await w.text('/static/../package.json')).status, 404);
});

test('/api/events: a live stream of the numbers, about once a second', async () => {
  const res = await fetch(`${w.base}/api/events`);
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const started = Date.now();
  while ((text.match(/^data: /gm) ?? []).length < 3 && Date.now() - started < 10_000) text += decoder.decode((await reader.read()).value);
  await reader.cancel();
  const messages = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as { stats: Record<string, unknown> });
  assert.ok(messages.length >= 3, `at least 3 messages in 10 s: ${messages.length}`);
  assert.equal(messages[0]!.stats['swarms'], 13);
  // Three messages take about two seconds: a bounded rate, whatever the load.
  assert.ok(Date.now() - started >= 1500, `3 messages in ${Date.now() - started} ms`);
});
