/**
 * The server-rendered peer page with hostile strings in every field that comes from a torrent or
 * the network (name, file path, client name, address, magnet): all text, no element injected;
 * the numbers are there without JavaScript; at most MAX_DETAILED torrents in full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DETAILED, renderPeerPage } from '../../../src/peer/dashboard/page.ts';
import type { TorrentDetail } from '../../../src/peer/stats/views.ts';

const EVIL = `<img src=x onerror=alert(1)>"'&<script>alert(2)</script>`;

function detail(hex: string, name = EVIL): TorrentDetail {
  return {
    infoHash: hex,
    name,
    size: 3 * 1024 * 1024,
    pieceLength: 16384,
    pieceCount: 192,
    piecesVerified: 96,
    progress: 0.5,
    complete: false,
    downloaded: 1536 * 1024,
    uploaded: 512,
    ratio: 512 / (1536 * 1024),
    rate: { down: 2048, up: 0 },
    eta: 768,
    peers: 1,
    piecesFailed: 0,
    magnet: `magnet:?xt=urn:btih:${hex}&dn=${encodeURIComponent(name)}`,
    torrentUrl: `/torrent/${hex}.torrent`,
    pieces: { count: 192, verified: Buffer.alloc(24, 0xf0).toString('base64'), inFlight: [1, 2] },
    files: [{ path: `${EVIL}/${EVIL}`, size: 10, verified: 5, progress: 0.5 }],
    filesTotal: 3,
    peerList: [{ key: 'wire:00', transport: 'utp', also: ['http'], address: EVIL, client: EVIL, downloaded: 1, uploaded: 2, downRate: 3, upRate: 4, piecesGiven: 5, has: 6 }],
    history: [],
  };
}

test('every string from a torrent or the network is text; the numbers are rendered', () => {
  const d = detail('ab'.repeat(20));
  const page = renderPeerPage([d], () => d);
  assert.ok(!/<img|<script>/i.test(page), 'no element from the data');
  assert.ok(!page.includes('onerror=alert(1)>"'), 'no unescaped quote or bracket');
  assert.ok(page.includes('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;&lt;script&gt;'), 'the hostile name shown escaped');
  for (const text of ['50.0 %', '3.0 MiB', '2.0 KiB/s', '12m 48s', '96 / 192', '96 of 192 pieces verified, 2 in flight', 'BitTorrent uTP + HTTP API', '2 more files not listed']) {
    assert.ok(page.includes(text), text);
  }
  assert.ok(page.includes(`href="/torrent/${d.infoHash}.torrent"`), `a link to /torrent/${d.infoHash}.torrent`);
  assert.match(page, /<script type="module" src="\/static\/peer\.js"><\/script>/);
  assert.match(page, /<link rel="stylesheet" href="\/static\/peer\.css">/);
});

test('at most MAX_DETAILED torrents in full, the others listed by name (as text)', () => {
  const all = Array.from({ length: MAX_DETAILED + 2 }, (_, i) => detail(i.toString(16).padStart(40, '0'), `t${i}<b>`));
  const page = renderPeerPage(all, (hex) => all.find((d) => d.infoHash === hex));
  assert.equal(page.match(/<section class="torrent"/g)?.length, MAX_DETAILED);
  assert.ok(page.includes(`t${MAX_DETAILED + 1}&lt;b&gt;`), `the torrents past ${MAX_DETAILED} still listed, escaped: t${MAX_DETAILED + 1}&lt;b&gt;`);
  assert.ok(!page.includes('<b>'), 'no raw <b> from a name');
  assert.ok(renderPeerPage([], () => undefined).includes('No torrent shared.'), "an empty page says 'No torrent shared.'");
});
