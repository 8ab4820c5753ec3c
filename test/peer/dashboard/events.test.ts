/**
 * The event streams' bounds, in process over loopback: one message a second, at most
 * SSE_DEFAULTS.maxClients streams (the next is answered 503 and the API still answers), a freed
 * place is taken again, a stream outlives the connection's send deadline, closing the node ends
 * every stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTorrent } from '../../../src/metainfo/create.ts';
import { parseMetainfo } from '../../../src/metainfo/metainfo.ts';
import { PieceStore } from '../../../src/storage/piece-store.ts';
import { storageFiles } from '../../../src/storage/layout.ts';
import { Bitfield } from '../../../src/bittorrent/bitfield.ts';
import { PeerNode } from '../../../src/peer/peer-node.ts';
import { SSE_DEFAULTS } from '../../../src/dashboard/sse.ts';
import { freePort, tempDir } from '../../support/procs.ts';
import { rawRequest } from '../../support/raw-request.ts';
import { readEvents } from './sse-client.ts';

/** Open a stream and resolve with its response once the headers came (the stream stays open). */
function openStream(port: number, p = '/api/events'): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => resolve({ res, req }));
    req.on('error', reject);
  });
}

test('event streams are bounded, paced at one round a second, and end with the node', { timeout: 30_000 }, async () => {
  const tmp = await tempDir('p2p-events-');
  // A short send deadline: a stream must outlive it (it is not an answer that stalls).
  const node = new PeerNode({ sendTimeoutMs: 1000 });
  try {
    await writeFile(path.join(tmp.dir, 'd.bin'), randomBytes(40_000));
    const meta = parseMetainfo(await makeTorrent(path.join(tmp.dir, 'd.bin'), 'd.bin', { announce: 'http://127.0.0.1:9/announce', pieceLength: 16384 }));
    node.share({ meta, store: await PieceStore.openForReading(storageFiles(meta, tmp.dir)), have: Bitfield.full(meta.pieceCount) });
    const port = await freePort();
    await node.listen(port, '127.0.0.1');

    const t0 = Date.now();
    const paced = await readEvents(`http://127.0.0.1:${port}/api/events?torrent=${meta.infoHashHex}`, (ev) => ev.length >= 3, 5000);
    const elapsed = Date.now() - t0;
    assert.equal(paced.events.length, 3);
    assert.equal((JSON.parse(paced.events[0]!.data) as { infoHash: string }).infoHash, meta.infoHashHex);
    assert.ok(elapsed >= 1800 && elapsed < 4500, `3 rounds took ${elapsed} ms`);

    const streams = await Promise.all(Array.from({ length: SSE_DEFAULTS.maxClients }, () => openStream(port)));
    assert.ok(streams.every((s) => s.res.statusCode === 200));
    const refused = await rawRequest({ port, path: '/api/events' });
    assert.equal(refused.status, 503);
    assert.equal((await rawRequest({ port, path: '/api/torrents' })).status, 200);

    const first = streams.shift()!;
    first.req.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await openStream(port);
    assert.equal(again.res.statusCode, 200);
    streams.push(again);

    const ended = streams.map((s) => new Promise<void>((resolve) => s.res.once('close', () => resolve())));
    await node.close();
    await Promise.all(ended);
  } finally {
    await node.close().catch(() => {});
    await tmp.remove();
  }
});
