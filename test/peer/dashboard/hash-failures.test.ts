/**
 * A lying peer in a real swarm: the requester's /metrics counts the pieces that failed their
 * SHA-1 check by the liar's address, and its API and page say how many failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Scope, getJson, startRequester, startSeeder } from '../../support/bad-peers.ts';
import { startTracker } from '../../support/procs.ts';
import { rawRequest } from '../../support/raw-request.ts';
import { parseExposition, sample } from '../../tracker/metrics/prom-text.ts';
import { parseMetainfo } from '../../../src/metainfo/metainfo.ts';
import type { TorrentDetail } from '../../../src/peer/stats/views.ts';

test('hash failures are counted by the sending peer\'s address', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-dash-lie-');
    await writeFile(path.join(dir, 'lie.bin'), randomBytes(4 * 1024 * 1024));
    const tracker = await startTracker(dir, ['--interval', '1']);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'lie.bin', tracker.announce, ['--piece-length', '256K', '--max-upload-rate', '2M', '--no-web-seed']);
    const meta = parseMetainfo(await readFile(seeder.torrent));
    const liar = await scope.badPeer({ infoHashHex: meta.infoHashHex, pieceLength: meta.pieceLength, parts: [{ path: path.join(dir, 'lie.bin'), length: meta.length }], mode: 'corrupt' });
    await liar.register(tracker.announce, meta.infoHash);
    const req = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--seed', '--wait', '30']);
    await req.proc.waitFor(/^Banned peer /m, 30_000);
    await req.proc.waitFor(/^File downloaded: /m, 40_000);

    const liarAddress = liar.label.slice(0, liar.label.lastIndexOf(':'));
    const m = parseExposition((await rawRequest({ port: req.port, path: '/metrics' })).body.toString());
    const byLiar = sample(m, 'peer_hash_failures_total', { peer: liarAddress });
    assert.ok(byLiar >= 1, `failures by ${liarAddress}: ${byLiar}`);
    assert.equal(sample(m, 'peer_pieces_failed_total'), byLiar);
    assert.equal(sample(m, 'peer_pieces_verified_total'), meta.pieceCount);
    const d = await getJson<TorrentDetail>(`http://127.0.0.1:${req.port}/api/torrents/${meta.infoHashHex}`);
    assert.equal(d.piecesFailed, byLiar);
    assert.ok(!d.peerList.some((p) => p.address === liar.label), 'the banned liar is no longer listed');
  } finally {
    await scope.dispose();
  }
});
