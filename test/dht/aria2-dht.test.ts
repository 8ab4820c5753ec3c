/**
 * The judge: aria2c with the DHT as its only peer source (LPD and PEX off, the torrent names no
 * tracker), in a loopback-only network namespace with a local DHT of 20 nodes. Our requester finds
 * an aria2c seeder through the DHT alone, and an aria2c leecher finds our seeder; each downloads
 * the exact file. (aria2c waits for its own DHT rounds: these take 10-15 s each.)
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { requireNetns } from '../support/netns.ts';
import { NetnsWorld } from '../support/netns-world.ts';
import { aria2Argv } from '../support/real-clients.ts';
import { freePort, requireProgram, within, until } from '../support/procs.ts';
import { dhtWorld, fileIs, ourSeeder } from '../support/dht-world.ts';

const worlds: NetnsWorld[] = [];
after(() => Promise.all(worlds.map((w) => w.cleanup())));

/** aria2c with the local DHT as its entry point (LPD, PEX and trackers off: the torrent names none). */
function aria2(w: NetnsWorld, bootstrap: string, args: string[], dhtPort: number) {
  const entryPort = Number(bootstrap.split(':')[1]);
  return w.program('aria2c', aria2Argv([...args, path.join(w.dir, 'lt.torrent')], { listenPort: dhtPort, entryPort, file: path.join(w.dir, 'aria2-dht.dat') }));
}

test('our requester finds an aria2c seeder through the DHT alone', async (t) => {
  if (!requireNetns(t) || !requireProgram(t, 'aria2c', 'aria2')) return;
  const { w, bootstrap, data, torrent } = await dhtWorld(worlds);
  const aria = aria2(w, bootstrap, ['--seed-ratio=0.0', '--seed-time=60', '-V', '--dir', 'seed', '--listen-port', String(await freePort())], await freePort());
  const req = w.cli('requester', [torrent, '--port', String(await freePort()), '--out', 'dl', '--no-seed', '--wait', '60', '--dht-bootstrap', bootstrap]);
  const code = await within(req.exited, 90_000, 'our requester');
  assert.equal(code, 0, `requester\n${req.out()}\n${req.err()}\naria2c\n${aria.out().slice(-2000)}\n${aria.err()}`);
  assert.match(req.out(), /Found peers through the DHT/);
  assert.ok(await fileIs(path.join(w.dir, 'dl', 'lt.bin'), data), 'the file downloaded from aria2c is byte-identical to lt.bin');
});

test('an aria2c leecher finds our seeder through the DHT alone', async (t) => {
  if (!requireNetns(t) || !requireProgram(t, 'aria2c', 'aria2')) return;
  const { w, bootstrap, data, infoHash } = await dhtWorld(worlds);
  const seeder = await ourSeeder(w, bootstrap, infoHash);
  const aria = aria2(w, bootstrap, ['--seed-time=0', '--dir', 'a2', '--listen-port', String(await freePort())], await freePort());
  await until(() => fileIs(path.join(w.dir, 'a2', 'lt.bin'), data), 90_000, () => `aria2c\n${aria.out().slice(-2000)}\n${aria.err()}\nseeder\n${seeder.out()}\n${seeder.err()}`);
});
