/**
 * The judge: libtorrent 2.0 with the DHT as its only peer source, in a loopback-only network
 * namespace with a local DHT of 20 nodes. Our requester finds a libtorrent seeder through the DHT
 * alone (libtorrent's announce_peer, our get_peers), and a libtorrent leecher finds our seeder
 * (our announce_peer, libtorrent's get_peers); each downloads the exact file.
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { requireNetns } from '../support/netns.ts';
import { NetnsWorld } from '../support/netns-world.ts';
import { requireLibtorrent } from '../../harness/libtorrent.ts';
import { freePort, within, until } from '../support/procs.ts';
import { dhtWorld, ourSeeder } from '../support/dht-world.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LT_PEER = path.join(HERE, 'fixtures/lt-dht-peer.py');
const worlds: NetnsWorld[] = [];
after(() => Promise.all(worlds.map((w) => w.cleanup())));

function libtorrent(w: NetnsWorld, role: 'seeder' | 'leecher', bootstrap: string, savePath: string) {
  const cfg = { role, torrent: path.join(w.dir, 'lt.torrent'), save_path: savePath, listen_port: 0, bootstrap };
  return w.program(`libtorrent ${role}`, ['/usr/bin/python3', LT_PEER, JSON.stringify(cfg)]);
}

test('our requester finds a libtorrent seeder through the DHT alone', async (t) => {
  if (!requireNetns(t) || !requireLibtorrent(t)) return;
  const { w, bootstrap, data, torrent } = await dhtWorld(worlds);
  const lt = libtorrent(w, 'seeder', bootstrap, path.join(w.dir, 'seed'));
  await lt.waitFor(/"seeding": true/, 30_000);
  const req = w.cli('requester', [torrent, '--port', String(await freePort()), '--out', 'dl', '--no-seed', '--wait', '60', '--dht-bootstrap', bootstrap]);
  const code = await within(req.exited, 90_000, 'our requester');
  assert.equal(code, 0, `requester\n${req.out()}\n${req.err()}\nlibtorrent\n${lt.out().slice(-2000)}\n${lt.err()}`);
  assert.match(req.out(), /Found peers through the DHT/);
  assert.ok((await readFile(path.join(w.dir, 'dl', 'lt.bin'))).equals(data), 'the file downloaded from libtorrent is byte-identical to lt.bin');
});

test('a libtorrent leecher finds our seeder through the DHT alone', async (t) => {
  if (!requireNetns(t) || !requireLibtorrent(t)) return;
  const { w, bootstrap, data, infoHash } = await dhtWorld(worlds);
  const seeder = await ourSeeder(w, bootstrap, infoHash);
  await mkdir(path.join(w.dir, 'lt-dl'));
  const lt = libtorrent(w, 'leecher', bootstrap, path.join(w.dir, 'lt-dl'));
  await until(() => lt.out().includes('"finished"'), 90_000, () => `libtorrent\n${lt.out().slice(-2000)}\n${lt.err()}\nseeder\n${seeder.out()}\n${seeder.err()}`);
  assert.ok((await readFile(path.join(w.dir, 'lt-dl', 'lt.bin'))).equals(data), 'the file libtorrent downloaded from our seeder is byte-identical to lt.bin');
});

