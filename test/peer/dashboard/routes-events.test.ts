/**
 * The event streams' bounds, in process over loopback: one message a second, at most
 * SSE_DEFAULTS.maxPerAddress streams per address and maxClients in all (the next is answered 503
 * and the API still answers), a freed place is taken again, a stream outlives the connection's send deadline, closing the node ends
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
function openStream(port: number, from = '127.0.0.1'): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/events', agent: false, localAddress: from }, (res) => resolve({ res, req }));
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

    // maxPerAddress streams from each of several loopback addresses, up to maxClients in all.
    const { maxClients, maxPerAddress } = SSE_DEFAULTS;
    const from = (i: number) => `127.0.0.${2 + Math.floor(i / maxPerAddress)}`;
    const streams = await Promise.all(Array.from({ length: maxClients }, (_, i) => openStream(port, from(i))));
    assert.ok(streams.every((s) => s.res.statusCode === 200), `all ${maxClients} streams answered 200: ${streams.map((s) => s.res.statusCode).join(' ')}`);
    const sameAddress = await openStream(port, from(0));
    assert.equal(sameAddress.res.statusCode, 503, 'one address has its share');
    const full = await openStream(port, '127.0.0.200');
    assert.equal(full.res.statusCode, 503, 'every place is taken');
    assert.equal((await rawRequest({ port, path: '/api/torrents' })).status, 200);

    const first = streams.shift()!;
    first.req.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await openStream(port, from(0));
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
