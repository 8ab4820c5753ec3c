/**
 * Magnet links with libtorrent 2.0 (python3-libtorrent) as the judge, in a loopback-only network
 * namespace: libtorrent given only our seeder's magnet link fetches the metadata from us (BEP 9)
 * and the file; our requester given only a magnet naming a libtorrent seeder (`x.pe`) does the same.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { within } from '../support/procs.ts';
import { requireNetns } from '../support/netns.ts';
import { withNetnsWorld } from '../support/netns-world.ts';
import { LT_PYTHON, requireLibtorrent } from '../../harness/libtorrent.ts';
import { MiB, ltSeeder, ourRequester, randomFile, sameBytes, transcript } from '../support/libtorrent-world.ts';
import { formatMagnet, parseMagnet } from '../../src/magnet/magnet-uri.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { randomBytes } from 'node:crypto';

const LT_MAGNET = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lt-magnet.py');
const needs = (t: TestContext) => requireNetns(t) && requireLibtorrent(t);

test('libtorrent given only our seeder\'s magnet link gets the metadata from us, then the exact file', { timeout: 60_000 }, async (t) => {
  if (!needs(t)) return;
  await withNetnsWorld('p2p-lt-magnet-', async (w) => {
    const data = await randomFile(w.dir, 'ltmag.bin', 3 * MiB + 321);
    const tracker = await w.tracker();
    const seeder = await w.seeder('ltmag.bin', tracker.announce, ['--no-web-seed', '--piece-length', '64K']);
    const magnet = /^Magnet link: (magnet:\S+)$/m.exec(seeder.proc.out())![1]!;
    // The magnet names our tracker; libtorrent is also pointed at the seeder (it may reach the tracker later).
    const dl = path.join(w.dir, 'lt-dl');
    await mkdir(dl);
    const lt = w.program('lt-magnet', [LT_PYTHON, LT_MAGNET, magnet, dl, `127.0.0.1:${seeder.port}`]);
    const code = await within(lt.exited, 50_000, 'libtorrent to finish');
    assert.equal(code, 0, transcript(['libtorrent', lt], ['seeder', seeder.proc]));
    const lines = lt.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const meta = lines.find((l) => l['event'] === 'metadata');
    assert.deepEqual(meta, { event: 'metadata', name: 'ltmag.bin', info_hash: parseMagnet(magnet).infoHashHex, metadata_size: seeder.meta.rawInfo.length });
    assert.ok(await sameBytes(path.join(dl, 'ltmag.bin'), data), 'libtorrent has the exact file');
  });
});

test('our requester given only a magnet naming a libtorrent seeder (x.pe) gets the metadata and the file', { timeout: 60_000 }, async (t) => {
  if (!needs(t)) return;
  await withNetnsWorld('p2p-lt-magnet-', async (w) => {
    const data = randomBytes(4 * MiB + 99);
    const tracker = await w.tracker();
    const seed = await ltSeeder(w, tracker, data, { name: 'fromlt.bin', pieceLength: 64 * 1024 });
    const meta = parseMetainfo(await readFile(seed.torrent));
    const magnet = formatMagnet(meta.infoHash, 'fromlt.bin', [], [], [{ ip: '127.0.0.1', port: seed.lt.port }]);
    const req = await ourRequester(w, magnet, 'fromlt.bin');
    const code = await within(req.proc.exited, 45_000, 'our requester to finish');
    assert.equal(code, 0, `${transcript(['requester', req.proc])}\n${seed.lt.transcript()}`);
    assert.match(req.proc.out(), new RegExp(`^Metadata received from 127\\.0\\.0\\.1:${seed.lt.port}: fromlt\\.bin \\(${meta.rawInfo.length} bytes\\)`, 'm'));
    assert.ok(await sameBytes(req.file, data), 'our requester has the exact file');
  });
});
