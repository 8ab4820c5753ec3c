import test from 'node:test';
import assert from 'node:assert/strict';
import { overviewPage, swarmPage } from '../../../src/tracker/dashboard/pages.ts';
import { parseListing, type ListingRequest } from '../../../src/tracker/dashboard/query.ts';
import type { StatsView, SwarmsView, SwarmView } from '../../../src/tracker/dashboard/views.ts';

const EVIL = `<script>alert(1)</script>"'&`;
const NOW = 1_800_000_000_000;

const stats: StatsView = {
  now: NOW,
  uptime_seconds: 3725,
  store: EVIL,
  processes: 2,
  swarms: 1234,
  peers: 5,
  seeders: 2,
  leechers: 3,
  completed: null,
  announces: 10,
  scrapes: 0,
  failed: 1,
  failures: { bad_request: 1, not_registered: 0, store_full: 0, store_unavailable: 0, bad_connection_id: 0, busy: 0, internal: 0 },
  announces_per_second: 2.5,
  scrapes_per_second: null,
};

test('the overview has every number in place and no markup from data', () => {
  const r = parseListing('sort=seeders&order=desc&page=2&per_page=1') as ListingRequest;
  const v: SwarmsView = { total: 3, page: 2, per_page: 1, pages: 3, sort: 'seeders', order: 'desc', q: '', swarms: [{ info_hash: 'ab'.repeat(20), name: EVIL, seeders: 1, leechers: 2, completed: 3, last_announce: NOW - 65_000 }] };
  const page = overviewPage(stats, v, r).text;
  assert.match(page, /data-slot="swarms">1,234</);
  assert.match(page, /data-slot="completed">–</);
  assert.match(page, /data-slot="announces_per_second">2\.5</);
  assert.match(page, /data-slot="uptime">1h 2m</);
  assert.match(page, /data-slot="failure_bad_request">1</);
  assert.match(page, />1m 5s ago</);
  assert.match(page, /page 2 of 3 · 3 swarms/);
  assert.match(page, /href="\/\?sort=seeders&amp;order=desc&amp;per_page=1" data-page="1">← previous/);
  assert.match(page, /href="\/\?sort=seeders&amp;order=asc&amp;per_page=1" data-sort="seeders" class="sorted">seeders ▼/);
  assert.ok(!page.includes('<script>'), 'no raw <script> on the page');
  assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;'), 'the hostile name is shown escaped');
});

test('a swarm page escapes the peers\' strings', () => {
  const v: SwarmView = {
    info_hash: 'cd'.repeat(20),
    name: EVIL,
    seeders: 1,
    leechers: 0,
    completed: 0,
    total_peers: 1,
    page: 1,
    per_page: 100,
    pages: 1,
    peers: [{ ip: EVIL, port: 1, client: EVIL, peer_id_text: EVIL, peer_id: '00'.repeat(20), seeder: true, last_seen: NOW }],
  };
  const page = swarmPage(v, NOW).text;
  assert.ok(!page.includes('<script>'), 'no raw <script> on the swarm page');
  assert.equal(page.split('&lt;script&gt;').length - 1, 4);
  assert.match(page, /just now/);
});
