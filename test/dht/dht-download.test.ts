/**
 * The DHT end to end, loopback only: a local DHT of 20 nodes (in this process), our seeder
 * announcing into it, and our requester given a torrent with NO tracker and no web seed, which
 * finds the seeder through the DHT alone and downloads the exact file. Both save their routing
 * table on exit.
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { TestScope, freePort, within } from '../support/procs.ts';
import { infoOnly, startLocalDht } from '../support/local-dht.ts';
import { decode, encode } from '../../src/metainfo/bencode.ts';

const scope = new TestScope('dht-e2e-');
after(() => scope.cleanup());

/** The torrent at `torrentPath` without tracker or web seed, written to `out`; resolves with its info_hash. */
async function trackerless(torrentPath: string, out: string): Promise<string> {
  const { torrent, infoHash } = infoOnly(await readFile(torrentPath));
  await writeFile(out, torrent);
  return infoHash;
}

test('a requester with only a magnet link (no tracker, no peer) finds our seeder through a local DHT: metadata and the exact file', async (t) => {
  const local = await startLocalDht(20);
  t.after(() => local.close());
  const dir = await scope.dir();
  const data = randomBytes(3 * 1024 * 1024 + 12_345);
  await writeFile(path.join(dir, 'dht.bin'), data);
  const seederPort = await freePort();
  const seeder = scope.spawn('seeder', ['dht.bin', '--port', String(seederPort), '--tracker', 'http://127.0.0.1:1/announce', '--no-web-seed', '--requester-dir', 'req', '--dht-bootstrap', local.bootstrap], { cwd: dir });
  await seeder.waitFor(/\* Running on/, 30_000);
  await seeder.waitFor(/DHT: node on UDP port \d+, joining through 1 bootstrap node/);
  const infoHash = await trackerless(path.join(dir, 'dht.bin.torrent'), path.join(dir, 'no-tracker.torrent'));
  assert.match(seeder.out(), new RegExp(`Info hash: ${infoHash}`));
  // A magnet link with no tracker and no peer: metadata and data both through the DHT alone.
  const source = `magnet:?xt=urn:btih:${infoHash}`;

  const t0 = performance.now();
  const req = scope.spawn('requester', [source, '--port', String(await freePort()), '--out', 'dl', '--no-seed', '--wait', '40', '--dht-bootstrap', local.bootstrap], { cwd: dir });
  void req.waitFor(/Found peers through the DHT/, 60_000).then(() => t.diagnostic(`first DHT peer ${(performance.now() - t0).toFixed(0)} ms after the requester started`), () => {});
  const code = await within(req.exited, 60_000, 'the requester to finish');
  t.diagnostic(`requester done in ${(performance.now() - t0).toFixed(0)} ms (${data.length} bytes)`);
  assert.equal(code, 0, `requester\n${req.out()}\n${req.err()}\nseeder\n${seeder.out()}\n${seeder.err()}`);
  assert.match(req.out(), /Found peers through the DHT/);
  assert.match(req.out(), new RegExp(`Pieces received: \\d+ from 127\\.0\\.0\\.1:${seederPort}`));
  assert.ok((await readFile(path.join(dir, 'dl', 'dht.bin'))).equals(data), 'the exact file');

  // both kept their routing table: the requester at exit, the seeder on SIGTERM
  const reqTable = JSON.parse(await readFile(path.join(dir, 'dl', '.dht-nodes.json'), 'utf8')) as { nodes: unknown[] };
  assert.ok(reqTable.nodes.length >= 10, `requester saved ${reqTable.nodes.length} nodes`);
  seeder.kill('SIGTERM');
  assert.equal(await within(seeder.exited, 10_000, 'the seeder to stop'), 0);
  const seedTable = JSON.parse(await readFile(path.join(dir, `peer_${seederPort}`, '.dht-nodes.json'), 'utf8')) as { nodes: unknown[] };
  assert.ok(seedTable.nodes.length >= 10, `seeder saved ${seedTable.nodes.length} nodes`);
});

test('with --no-dht, or for a private torrent, a trackerless torrent is refused in one line', async () => {
  const dir = await scope.dir();
  await writeFile(path.join(dir, 'x.bin'), randomBytes(40_000));
  const seeder = scope.spawn('seeder', ['x.bin', '--port', String(await freePort()), '--tracker', 'http://127.0.0.1:1/announce', '--no-web-seed', '--requester-dir', 'req'], { cwd: dir });
  await seeder.waitFor(/\* Running on/, 30_000);
  seeder.kill('SIGTERM');
  await trackerless(path.join(dir, 'x.bin.torrent'), path.join(dir, 'bare.torrent'));
  const req = scope.spawn('requester', ['bare.torrent', '--port', String(await freePort()), '--no-seed', '--no-dht'], { cwd: dir });
  assert.equal(await within(req.exited, 20_000, 'the requester'), 1);
  assert.match(req.err(), /names no http\(s\) or udp tracker and no web seed, no --peer was given, and the DHT is off \(--no-dht\)/);

  // BEP 27: a private torrent never uses the DHT, even when it is on
  const bare = decode(await readFile(path.join(dir, 'bare.torrent'))) as { info: Record<string, unknown> };
  await writeFile(path.join(dir, 'private.torrent'), encode({ info: { ...bare.info, private: 1 } } as never));
  const priv = scope.spawn('requester', ['private.torrent', '--port', String(await freePort()), '--no-seed', '--dht-bootstrap', '127.0.0.1:9'], { cwd: dir });
  assert.equal(await within(priv.exited, 20_000, 'the requester'), 1);
  assert.match(priv.err(), /the DHT is off \(a private torrent\)/);
});
