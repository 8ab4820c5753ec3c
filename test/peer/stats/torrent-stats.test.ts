/** TorrentStats: uploads counted per torrent, per HTTP client and for the process at once; bounded maps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ForwardingCounter, MAX_FAILING_PEERS, MAX_HTTP_CLIENTS, TorrentStats } from '../../../src/peer/stats/torrent-stats.ts';

test('one increment counts for the client, the torrent and the process', () => {
  const processCounter = { uploaded: 100 };
  const stats = new TorrentStats(processCounter);
  const a = stats.httpUpload({ address: '127.0.0.1', port: 6882, webSeed: false }, 1000);
  a.uploaded += 10;
  a.uploaded += 5;
  stats.upload.uploaded += 7; // the wire protocol's uploads for this torrent
  stats.httpUpload({ address: '127.0.0.1', port: 6882, webSeed: false }, 2000).uploaded += 3; // the same client, another answer
  stats.httpUpload({ address: '127.0.0.1', port: 6882, webSeed: true }, 2000).uploaded += 1; // through the web seed URL: a client of its own
  assert.equal(a.uploaded, 15);
  assert.equal(stats.upload.uploaded, 26);
  assert.equal(processCounter.uploaded, 126);
  const active = stats.activeHttpClients(Date.now(), 60_000);
  assert.deepEqual(active.map((c) => [c.address, c.port, c.webSeed, c.uploaded]), [
    ['127.0.0.1', 6882, false, 18],
    ['127.0.0.1', 6882, true, 1],
  ]);
  assert.deepEqual(stats.activeHttpClients(Date.now() + 120_000, 60_000), []);
});

test('a forwarding counter only forwards differences', () => {
  const parent = { uploaded: 0 };
  const seen: number[] = [];
  const c = new ForwardingCounter(parent, (n) => seen.push(n));
  c.uploaded = 4;
  c.uploaded += 6;
  assert.deepEqual([c.uploaded, parent.uploaded, seen], [10, 10, [4, 6]]);
});

test('HTTP clients and failing peers are bounded: the least recent client goes, extra peers count as `other`', () => {
  const stats = new TorrentStats({ uploaded: 0 });
  for (let i = 0; i < MAX_HTTP_CLIENTS + 10; i++) stats.httpUpload({ address: '10.0.0.1', port: 1000 + i, webSeed: false }, i).uploaded += 1;
  const all = stats.activeHttpClients(MAX_HTTP_CLIENTS + 10, Infinity);
  assert.equal(all.length, MAX_HTTP_CLIENTS);
  assert.ok(!all.some((c) => c.port === 1000), 'the oldest client was forgotten');
  for (let i = 0; i < MAX_FAILING_PEERS + 5; i++) stats.pieceFailed([`10.0.1.${i}`]);
  stats.pieceFailed(['10.0.1.0', '192.0.2.1']);
  assert.equal(stats.piecesFailed, MAX_FAILING_PEERS + 6);
  assert.equal(stats.hashFailures.size, MAX_FAILING_PEERS + 1);
  assert.equal(stats.hashFailures.get('10.0.1.0'), 2);
  assert.equal(stats.hashFailures.get('other'), 6);
});
