/**
 * Magnet links end to end, the real programs over loopback: our seeder prints its magnet link,
 * a requester given only that link fetches the metadata (BEP 9), saves `<name>.torrent` and
 * downloads the exact bytes; lying peers (wrong hash, absurd metadata_size) named by `x.pe` are
 * dropped and the metadata comes from the real seeder once it appears; hostile links get one
 * line and a non-zero exit.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, startTracker, TestScope, within, type Proc } from '../support/procs.ts';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { formatMagnet, parseMagnet } from '../../src/magnet/magnet-uri.ts';
import { lyingPeer } from '../download/metadata-fakes.ts';

const scope = new TestScope('p2p-magnet-');
let tracker: Awaited<ReturnType<typeof startTracker>>;

before(async () => {
  tracker = await startTracker(await scope.dir());
  scope.track(tracker.proc);
});
after(() => scope.cleanup());

async function startSeeder(dir: string, file: string, extra: string[] = []): Promise<{ proc: Proc; port: number; magnet: string }> {
  const port = await freePort();
  const proc = scope.spawn('seeder', [file, '--port', String(port), '--tracker', tracker.announce, '--piece-length', '32K', ...extra], { cwd: dir });
  const m = await proc.waitFor(/^Magnet link: (magnet:\S+)$/m, 60_000);
  await proc.waitFor(/^Successfully registered with tracker\.$/m, 30_000);
  return { proc, port, magnet: m[1]! };
}

async function requester(dir: string, args: string[], prompt?: string): Promise<{ proc: Proc; code: number | null }> {
  const port = await freePort();
  const proc = scope.spawn('requester', [...args, '--port', String(port), '--no-seed', '--out', 'dl', '--wait', '30'], { cwd: dir });
  if (prompt !== undefined) {
    await proc.waitFor(/Enter the path to the \.torrent file:/);
    proc.write(`${prompt}\n`);
  }
  const code = await within(proc.exited, 90_000, `requester\n${proc.out()}\n${proc.err()}`);
  return { proc, code };
}

test('the seeder prints its magnet link; a requester given only it (at the prompt) gets the exact bytes and saves the .torrent', async () => {
  const dir = await scope.dir();
  const data = randomBytes(3 * 1024 * 1024 + 12345);
  await writeFile(path.join(dir, 'film one.bin'), data);
  const seeder = await startSeeder(dir, 'film one.bin');
  const torrent = parseMetainfo(await readFile(path.join(dir, 'film one.bin.torrent')));
  const link = parseMagnet(seeder.magnet);
  assert.equal(link.infoHashHex, torrent.infoHashHex);
  assert.equal(link.name, 'film one.bin');
  assert.deepEqual(link.trackers, [tracker.announce]);
  assert.deepEqual(link.webSeeds, torrent.urlList);
  assert.equal(torrent.urlList.length, 1);

  const r = await requester(dir, [], seeder.magnet);
  assert.equal(r.code, 0, r.proc.out() + r.proc.err());
  assert.match(r.proc.out(), new RegExp(`^Retrieved info_hash: ${torrent.infoHashHex}$`, 'm'));
  assert.match(r.proc.out(), new RegExp(`^Metadata received from 127\\.0\\.0\\.1:${seeder.port}: film one\\.bin \\(${torrent.rawInfo.length} bytes\\), saved to: dl/film one\\.bin\\.torrent$`, 'm'));
  assert.ok((await readFile(path.join(dir, 'dl', 'film one.bin'))).equals(data), "dl/film one.bin from the magnet link is byte-identical to the seeded file");
  const saved = parseMetainfo(await readFile(path.join(dir, 'dl', 'film one.bin.torrent')));
  assert.ok(saved.rawInfo.equals(torrent.rawInfo), 'the saved .torrent holds the info dict exactly as the seeder has it');
  assert.equal(saved.announce, tracker.announce);
  assert.deepEqual(saved.urlList, torrent.urlList);

  // Run again without the swarm: the saved torrent is used, the file is found complete.
  seeder.proc.kill('SIGTERM');
  await seeder.proc.exited;
  const again = await requester(dir, [seeder.magnet]);
  assert.equal(again.code, 0, again.proc.out() + again.proc.err());
  assert.match(again.proc.out(), /^Metadata from dl\/film one\.bin\.torrent \(saved by an earlier run\)$/m);
  assert.match(again.proc.out(), /^File already complete: film one\.bin/m);
});

test('x.pe liars (wrong hash, absurd metadata_size) are dropped; the metadata comes from the seeder that appears later', async () => {
  const dir = await scope.dir();
  const data = randomBytes(2 * 1024 * 1024 + 777);
  const file = path.join(dir, 'late.bin');
  await writeFile(file, data);
  // The info dict the seeder will make (same name, piece length and data): the liars claim its hash.
  const meta = parseMetainfo(await makeTorrent(file, 'late.bin', { announce: tracker.announce, pieceLength: 32 * 1024 }));
  const wrongHash = await lyingPeer(meta, 'wrong-hash');
  const absurd = await lyingPeer(meta, 'absurd-size');
  try {
    const magnet = `magnet:?xt=urn:btih:${meta.infoHashHex}&dn=late.bin&tr=${encodeURIComponent(tracker.announce)}&x.pe=127.0.0.1:${wrongHash.port}&x.pe=127.0.0.1:${absurd.port}`;
    const port = await freePort();
    const proc = scope.spawn('requester', [magnet, '--port', String(port), '--no-seed', '--out', 'dl', '--wait', '30'], { cwd: dir });
    await proc.waitFor(new RegExp(`^Dropped peer 127\\.0\\.0\\.1:${wrongHash.port}: its metadata does not match the info hash`, 'm'), 20_000);
    await proc.waitFor(new RegExp(`^Dropped peer 127\\.0\\.0\\.1:${absurd.port}: its metadata_size 1073741824 is over the bound of 16777216 bytes$`, 'm'), 20_000);
    assert.equal(proc.child.exitCode, null, 'the requester is still looking');

    const seeder = await startSeeder(dir, 'late.bin', ['--no-web-seed']);
    assert.equal(parseMagnet(seeder.magnet).infoHashHex, meta.infoHashHex);
    const code = await within(proc.exited, 90_000, `requester\n${proc.out()}\n${proc.err()}`);
    assert.equal(code, 0, proc.out() + proc.err());
    assert.match(proc.out(), new RegExp(`^Metadata received from 127\\.0\\.0\\.1:${seeder.port}: late\\.bin`, 'm'));
    assert.ok((await readFile(path.join(dir, 'dl', 'late.bin'))).equals(data), 'dl/late.bin from the magnet link is byte-identical to the seeded file');
    assert.doesNotMatch(proc.out(), new RegExp(`^Downloading late\\.bin from (?:Seeder|peer) 127\\.0\\.0\\.1:${wrongHash.port}\\b`, 'm'), 'a liar is never a download source');
  } finally {
    wrongHash.close();
    absurd.close();
  }
});

test('a magnet naming only our tracker over udp://, and one with only x.pe and ws (web seed used once the metadata is in)', async () => {
  const dir = await scope.dir();
  const data = randomBytes(1024 * 1024 + 5);
  await writeFile(path.join(dir, 'both.bin'), data);
  const seeder = await startSeeder(dir, 'both.bin');
  const link = parseMagnet(seeder.magnet);
  const udp = `udp://127.0.0.1:${tracker.port}/announce`;
  const overUdp = await requester(dir, [formatMagnet(link.infoHash, link.name, [udp])]);
  assert.equal(overUdp.code, 0, overUdp.proc.out() + overUdp.proc.err());
  assert.match(overUdp.proc.out(), new RegExp(`^Metadata received from 127\\.0\\.0\\.1:${seeder.port}: both\\.bin`, 'm'));
  assert.ok((await readFile(path.join(dir, 'dl', 'both.bin'))).equals(data), 'dl/both.bin found over the UDP tracker is byte-identical to the seeded file');
  assert.deepEqual(parseMetainfo(await readFile(path.join(dir, 'dl', 'both.bin.torrent'))).announceList, [[udp]]);

  const dir2 = await scope.dir();
  const direct = await requester(dir2, [formatMagnet(link.infoHash, link.name, [], link.webSeeds, [{ ip: '127.0.0.1', port: seeder.port }])]);
  assert.equal(direct.code, 0, direct.proc.out() + direct.proc.err());
  assert.match(direct.proc.out(), new RegExp(`^Downloading both\\.bin from web seed ${link.webSeeds[0]!.replace(/[.?*+]/g, '\\$&')}$`, 'm'));
  assert.ok(
    (await readFile(path.join(dir2, 'dl', 'both.bin'))).equals(data),
    'dl/both.bin from the web seed and x.pe peer is byte-identical to the seeded file',
  );
  assert.deepEqual(parseMetainfo(await readFile(path.join(dir2, 'dl', 'both.bin.torrent'))).urlList, link.webSeeds);
});

const hostile: Array<[string, string, RegExp]> = [
  ['a short hash', 'magnet:?xt=urn:btih:1234', /^Error: bad magnet link: info hash "1234" must be 40 hex digits or 32 base32 characters\n$/],
  ['a bad escape', `magnet:?xt=urn:btih:${'a'.repeat(40)}&dn=%G1`, /^Error: bad magnet link: bad %-escape in dn: "%G1"\n$/],
  ['a huge link', `magnet:?xt=urn:btih:${'a'.repeat(40)}&tr=${'x'.repeat(9000)}`, /^Error: bad magnet link: magnet link of \d+ characters \(at most 8192\)\n$/],
  ['nowhere to ask', `magnet:?xt=urn:btih:${'a'.repeat(40)}&dn=x`, /^Error: the magnet link names no usable tracker \(tr\) and no peer \(x\.pe\) to fetch its metadata from\n$/],
];

for (const [what, magnet, re] of hostile) {
  test(`a hostile magnet link (${what}): one line on stderr, exit 1, as argument and at the prompt`, async () => {
    const dir = await scope.dir();
    for (const asArg of [true, false]) {
      const r = await requester(dir, asArg ? [magnet] : [], asArg ? undefined : magnet);
      assert.equal(r.code, 1);
      assert.match(r.proc.err(), re);
    }
  });
}
