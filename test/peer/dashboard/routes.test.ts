/**
 * The peer dashboard's API over real processes (tracker, seeder, requester): a torrent with a
 * hostile name, its progress seen partial then complete with the file exact on disk, piece
 * states, peers by transport, the .torrent (same info_hash), /metrics counting the bytes, the
 * event stream, the page rendering the name as text, and refusals of bad or state-changing requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Scope, getJson, sha1, startRequester, startSeeder, until } from '../../support/bad-peers.ts';
import { startTracker } from '../../support/procs.ts';
import { rawRequest } from '../../support/raw-request.ts';
import { parseExposition, sample } from '../../tracker/metrics/prom-text.ts';
import { parseMetainfo } from '../../../src/metainfo/metainfo.ts';
import { parseMagnet } from '../../../src/magnet/magnet-uri.ts';
import type { TorrentDetail, TorrentSummary } from '../../../src/peer/stats/views.ts';
import { readEvents } from './sse-client.ts';

const HOSTILE = '<img src=x onerror=alert(1)>';
const SIZE = 3 * 1024 * 1024 + 12345;

test('a requester\'s API shows the download partial, then complete, exact on disk; metrics count the bytes', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-dash-');
    const data = randomBytes(SIZE);
    await writeFile(path.join(dir, HOSTILE), data);
    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    // A capped seeder: the download takes about 3 s, long enough to be seen under way.
    const seeder = await startSeeder(scope, dir, HOSTILE, tracker.announce, ['--piece-length', '64K', '--max-upload-rate', '1M', '--no-web-seed']);
    const req = await startRequester(scope, dir, seeder.torrent, ['--out', 'r', '--wait', '30']);
    const base = `http://127.0.0.1:${req.port}`;
    const hex = seeder.infoHash;

    const partial = await until(async () => {
      const d = await getJson<TorrentDetail>(`${base}/api/torrents/${hex}`).catch(() => undefined);
      return d && d.progress > 0 && d.progress < 1 ? d : undefined;
    }, 20_000, 'the download seen under way');
    assert.equal(partial.name, HOSTILE);
    assert.equal(partial.size, SIZE);
    assert.equal(partial.pieces.count, partial.pieceCount);
    const verified = Buffer.from(partial.pieces.verified, 'base64');
    assert.equal(verified.length, Math.ceil(partial.pieceCount / 8));
    const bits = [...Array(partial.pieceCount).keys()].filter((i) => verified[i >> 3]! & (0x80 >> (i & 7)));
    assert.equal(bits.length, partial.piecesVerified);
    for (const i of partial.pieces.inFlight) assert.ok(!bits.includes(i), `piece ${i} both verified and in flight`);
    const row = partial.peerList.find((p) => p.key === `http://127.0.0.1:${seeder.port}` || p.address.endsWith(`:${seeder.port}`));
    assert.ok(row, `the seeder among the peers: ${JSON.stringify(partial.peerList)}`);
    assert.ok(row.piecesGiven > 0 && row.downloaded > 0, `the seeder gave pieces and bytes: ${JSON.stringify(row)}`);

    await req.proc.waitFor(/^File downloaded: /m, 30_000);
    const done = await until(async () => {
      const d = await getJson<TorrentDetail>(`${base}/api/torrents/${hex}`);
      return d.complete && d.history.some((p) => p.down > 0) ? d : undefined;
    }, 10_000, 'complete, with a download rate in the history');
    assert.equal(done.progress, 1);
    assert.equal(done.eta, null);
    assert.deepEqual(done.files.map((f) => [f.path, f.progress]), [[HOSTILE, 1]]);
    assert.equal(sha1(await readFile(path.join(dir, 'r', HOSTILE))), sha1(data));

    const metrics = parseExposition((await rawRequest({ port: req.port, path: '/metrics' })).body.toString());
    assert.ok(
      sample(metrics, 'peer_bytes_total', { direction: 'down' }) >= SIZE,
      `peer_bytes_total down at least ${SIZE}: ${sample(metrics, 'peer_bytes_total', { direction: 'down' })}`,
    );
    assert.equal(sample(metrics, 'peer_pieces_verified_total'), done.pieceCount);
    assert.equal(sample(metrics, 'peer_pieces_failed_total'), 0);
    const seederMetrics = parseExposition((await rawRequest({ port: seeder.port, path: '/metrics' })).body.toString());
    assert.ok(
      sample(seederMetrics, 'peer_bytes_total', { direction: 'up' }) >= SIZE,
      `the seeder's peer_bytes_total up at least ${SIZE}: ${sample(seederMetrics, 'peer_bytes_total', { direction: 'up' })}`,
    );
    const seederView = await getJson<{ torrents: TorrentSummary[] }>(`http://127.0.0.1:${seeder.port}/api/torrents`);
    assert.ok(
      seederView.torrents[0]!.uploaded >= SIZE && seederView.torrents[0]!.ratio! >= 1,
      `the seeder uploaded at least ${SIZE} bytes, ratio >= 1: ${JSON.stringify(seederView.torrents[0])}`,
    );

    const torrent = await rawRequest({ port: req.port, path: `/torrent/${hex}.torrent` });
    assert.equal(torrent.status, 200);
    assert.equal(torrent.headers['content-type'], 'application/x-bittorrent');
    assert.equal(parseMetainfo(torrent.body).infoHashHex, hex);
    assert.deepEqual([parseMagnet(done.magnet).infoHashHex, parseMagnet(done.magnet).name, parseMagnet(done.magnet).trackers], [hex, HOSTILE, [tracker.announce]]);
    assert.equal(torrent.headers['content-disposition'], 'attachment; filename="_img src_x onerror_alert_1__.torrent"');

    const page = (await rawRequest({ port: req.port, path: '/' })).body.toString();
    assert.ok(page.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the name as text');
    assert.ok(!page.includes('<img'), 'no img element');
    assert.ok(page.includes('100.0 %'), 'the page shows 100.0 %');

    const stream = await readEvents(`${base}/api/events?torrent=${hex}`, (ev) => ev.length >= 2, 5000);
    assert.equal(stream.status, 200);
    const details = stream.events.map((e) => JSON.parse(e.data) as TorrentDetail);
    assert.equal(details.length, 2);
    assert.equal(details[0]!.infoHash, hex);
    assert.equal(details[1]!.pieces.count, done.pieceCount);
    const all = await readEvents(`${base}/api/events`, (ev) => ev.length >= 1, 5000);
    assert.deepEqual((JSON.parse(all.events[0]!.data) as { torrents: TorrentSummary[] }).torrents.map((t) => t.infoHash), [hex]);
  } finally {
    await scope.dispose();
  }
});

test('bad and state-changing requests are refused; the peer serves on', { timeout: 30_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-dash-');
    await writeFile(path.join(dir, 'f.bin'), randomBytes(100_000));
    const seeder = await startSeeder(scope, dir, 'f.bin', 'http://127.0.0.1:9/announce');
    const port = seeder.port;
    const status = async (p: string, method = 'GET') => (await rawRequest({ port, path: p, method })).status;
    assert.equal(await status('/api/torrents/zz'), 400);
    assert.equal(await status(`/api/torrents/${'0'.repeat(40)}`), 404);
    assert.equal(await status(`/torrent/${'0'.repeat(40)}.torrent`), 404);
    assert.equal(await status(`/torrent/${seeder.infoHash}.txt`), 404);
    assert.equal(await status('/api/events?torrent=%3Cscript%3E'), 400);
    assert.equal(await status(`/api/events?torrent=${'0'.repeat(40)}`), 404);
    assert.equal(await status('/static/../package.json'), 404);
    assert.equal(await status('/static/peer.ts'), 404);
    for (const method of ['POST', 'PUT', 'DELETE']) assert.equal(await status(`/api/torrents/${seeder.infoHash}`, method), 404, method);
    assert.equal(await status(`/api/torrents/${seeder.infoHash.toUpperCase()}`), 200);
    const headEvents = await rawRequest({ port, path: '/api/events', method: 'HEAD' });
    assert.equal(headEvents.status, 200); // answered and closed, not a stream held open
    const head = await rawRequest({ port, path: '/', method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  } finally {
    await scope.dispose();
  }
});
