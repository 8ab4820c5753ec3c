/**
 * Sharing with another machine: two network namespaces joined by a veth pair (two addresses, no
 * loopback shortcut). Tracker and seeder on one, requester on the other, all with `--host 0.0.0.0`
 * and no address flags: the printed URLs are the reachable address, the torrent names it, and the
 * file arrives exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createVethPair, requireNetns } from '../support/netns.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { Scope, exitWithin, sha1File } from '../support/bad-peers.ts';

test('--host 0.0.0.0 on two "machines": reachable URLs printed and used, the file arrives', { timeout: 120_000 }, async (t) => {
  if (!requireNetns(t)) return;
  const scope = new Scope();
  const lan = createVethPair();
  scope.defer(() => lan.remove());
  try {
    const dir = await scope.dir('p2p-lan-');
    await writeFile(path.join(dir, 'photo.bin'), randomBytes(700_000));
    const trackerProc = scope.spawn('tracker', ['--host', '0.0.0.0'], dir, lan.a.name);
    await trackerProc.waitFor(new RegExp(`^\\* Running on http://${lan.addressA.replaceAll('.', '\\.')}:5001$`, 'm'), 20_000);
    assert.doesNotMatch(trackerProc.out(), /0\.0\.0\.0/, 'no unreachable wildcard printed');

    const seeder = scope.spawn('seeder', ['photo.bin', '--host', '0.0.0.0'], dir, lan.a.name);
    await seeder.waitFor(new RegExp(`^\\* Running on http://${lan.addressA.replaceAll('.', '\\.')}:6881$`, 'm'), 30_000);
    const meta = parseMetainfo(await readFile(path.join(dir, 'peer_6882', 'photo.bin.torrent')));
    assert.equal(meta.announce, `http://${lan.addressA}:5001/announce`, 'the torrent names the reachable tracker');
    assert.deepEqual(meta.urlList, [`http://${lan.addressA}:6881/webseed/${meta.infoHashHex}/`], 'and the reachable web seed');

    const requester = scope.spawn('requester', [path.join('peer_6882', 'photo.bin.torrent'), '--host', '0.0.0.0', '--no-seed', '--wait', '30'], dir, lan.b.name);
    assert.equal(await exitWithin(requester, 60_000, 'requester'), 0, `${requester.out()}\n${requester.err()}`);
    assert.equal(await sha1File(path.join(dir, 'peer_6882', 'photo.bin')), await sha1File(path.join(dir, 'photo.bin')), 'bytes exact');
  } finally {
    await scope.dispose();
  }
});
