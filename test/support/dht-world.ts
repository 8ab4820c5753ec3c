/**
 * A real-client DHT test's world: a loopback-only network namespace with a local DHT of 20 nodes
 * running in it (test/support/local-dht-child.ts), a 2 MiB file in `seed/` and its info-only
 * torrent `lt.torrent` (no tracker, no web seed), and our seeder of the same file.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { NetnsWorld } from './netns-world.ts';
import { ROOT, freePort } from './procs.ts';
import { infoOnly } from './local-dht.ts';

const LOCAL_DHT = path.join(ROOT, 'test/support/local-dht-child.ts');

export const fileIs = async (file: string, data: Buffer) => (await readFile(file).catch(() => Buffer.alloc(0))).equals(data);

/** A world (added to `worlds`, for cleanup) with a local DHT running in it, and a 2 MiB file with its info-only torrent. */
export async function dhtWorld(worlds: NetnsWorld[]): Promise<{ w: NetnsWorld; bootstrap: string; data: Buffer; torrent: string; infoHash: string }> {
  const w = await NetnsWorld.create('dht-world-');
  worlds.push(w);
  const local = w.program('local-dht', [process.execPath, '--import', 'tsx', LOCAL_DHT, '20'], ROOT);
  const bootstrap = (await local.waitFor(/bootstrap (127\.0\.0\.1:\d+)/, 30_000))[1]!;
  const data = randomBytes(2 * 1024 * 1024 + 777);
  await mkdir(path.join(w.dir, 'seed'));
  await writeFile(path.join(w.dir, 'seed', 'lt.bin'), data);
  const made = infoOnly(await makeTorrent(path.join(w.dir, 'seed', 'lt.bin'), 'lt.bin', { announce: 'http://127.0.0.1:1/announce', pieceLength: 64 * 1024 }));
  await writeFile(path.join(w.dir, 'lt.torrent'), made.torrent);
  return { w, bootstrap, data, torrent: 'lt.torrent', infoHash: made.infoHash };
}

/** Our seeder on the world's file: its own torrent of it has the same info (same piece length), so the same info_hash. */
export async function ourSeeder(w: NetnsWorld, bootstrap: string, infoHash: string) {
  const port = await freePort();
  const seeder = w.cli('seeder', ['seed/lt.bin', '--port', String(port), '--tracker', 'http://127.0.0.1:1/announce', '--piece-length', '64K', '--no-web-seed', '--dir', 'ours', '--requester-dir', 'req', '--dht-bootstrap', bootstrap]);
  await seeder.waitFor(new RegExp(`Info hash: ${infoHash}`), 30_000);
  return seeder;
}

