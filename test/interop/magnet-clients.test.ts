/**
 * Magnet links with real clients, each test in a loopback-only network namespace (DHT, LPD, PEX
 * off): aria2c and transmission-cli start from our seeder's magnet link alone (metadata over
 * BEP 9 from us, peers from our tracker), and our requester starts from a magnet link naming
 * only an aria2c seeder (`x.pe`), with no tracker at all.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, requireProgram, type Proc, until, within } from '../support/procs.ts';
import { requireNetns } from '../support/netns.ts';
import { withNetnsWorld, type NetnsWorld } from '../support/netns-world.ts';
import { aria2Argv, transmissionConfig } from '../support/real-clients.ts';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { formatMagnet, parseMagnet } from '../../src/magnet/magnet-uri.ts';

const MiB = 1024 * 1024;

function needs(t: TestContext, program: string, pkg: string): boolean {
  return requireNetns(t) && requireProgram(t, program, pkg);
}

function transcript(...ps: Array<[string, Proc]>): string {
  const tail = (s: string) => s.replace(/\r/g, '\n').replace(/\n{2,}/g, '\n').slice(-3000);
  return ps.map(([n, p]) => `--- ${n} stdout:\n${tail(p.out())}\n--- ${n} stderr:\n${tail(p.err())}`).join('\n');
}

async function sameBytes(file: string, data: Buffer): Promise<boolean> {
  return readFile(file).then((b) => b.equals(data), () => false);
}

/** Our tracker and seeder on `size` random bytes, no web seed: the wire protocol is the only way. */
async function ourSeeder(w: NetnsWorld, name: string, size: number): Promise<{ data: Buffer; port: number; magnet: string; proc: Proc; trackerPort: number }> {
  const data = randomBytes(size);
  await writeFile(path.join(w.dir, name), data);
  const tracker = await w.tracker();
  const seeder = await w.seeder(name, tracker.announce, ['--no-web-seed']);
  const magnet = /^Magnet link: (magnet:\S+)$/m.exec(seeder.proc.out())?.[1];
  assert.ok(magnet, seeder.proc.out());
  assert.equal(parseMagnet(magnet).infoHashHex, seeder.meta.infoHashHex);
  return { data, port: seeder.port, magnet, proc: seeder.proc, trackerPort: tracker.port };
}

test('aria2c downloads from our seeder given only its magnet link (metadata over BEP 9 from us)', { timeout: 60_000 }, async (t) => {
  if (!needs(t, 'aria2c', 'aria2')) return;
  await withNetnsWorld('p2p-magnet-aria-', async (w) => {
    const s = await ourSeeder(w, 'mag.bin', 3 * MiB + 4321);
    const adir = path.join(w.dir, 'aria');
    await mkdir(adir);
    const aria = w.program('aria2c', aria2Argv(['--seed-time=0', `--listen-port=${await freePort()}`, '-d', 'dl', s.magnet]), adir);
    const code = await within(aria.exited, 45_000, 'aria2c to finish');
    assert.equal(code, 0, transcript(['aria2c', aria], ['seeder', s.proc]));
    assert.ok(await sameBytes(path.join(adir, 'dl', 'mag.bin'), s.data), 'aria2c has the exact file');
    // The metadata came from us (BEP 9; aria2c has no other source), then the data.
    assert.match(aria.out(), /Download complete: \[MEMORY\]\[METADATA\]mag\.bin/);
    const { uploaded } = await w.stats(s.port);
    assert.ok(uploaded >= s.data.length, `the seeder uploaded the whole file (${uploaded} bytes)`);
  });
});

/** Does our tracker take Transmission's announce of a magnet: left=9223372036854775807 (2^63-1, size unknown)? */
async function takesUnknownLeft(w: NetnsWorld, trackerPort: number): Promise<boolean> {
  const id = '%01'.repeat(20);
  const r = await w.tryGet(`http://127.0.0.1:${trackerPort}/announce?info_hash=${id}&peer_id=${id}&port=1&uploaded=0&downloaded=0&left=9223372036854775807&compact=1`);
  return !!r && !r.body.includes('failure reason');
}

test('transmission-cli downloads from our seeder given only its magnet link', { timeout: 75_000 }, async (t) => {
  if (!needs(t, 'transmission-cli', 'transmission-cli')) return;
  await withNetnsWorld('p2p-magnet-tr-', async (w) => {
    const s = await ourSeeder(w, 'trmag.bin', 2 * MiB + 99);
    assert.ok(await takesUnknownLeft(w, s.trackerPort), 'our tracker takes left=2^63-1, which Transmission sends for a magnet (size unknown)');
    const tdir = path.join(w.dir, 'transmission');
    await mkdir(path.join(tdir, 'dl'), { recursive: true });
    const cfg = await transmissionConfig(tdir);
    // Transmission never dials loopback peers from a tracker: our seeder dials it at its next announce (2 s).
    const tr = w.program('transmission-cli', ['transmission-cli', '-g', cfg, '-M', '-p', String(await freePort()), '-w', path.join(tdir, 'dl'), s.magnet], tdir);
    await until(() => sameBytes(path.join(tdir, 'dl', 'trmag.bin'), s.data), 60_000, () => transcript(['transmission-cli', tr], ['seeder', s.proc]));
  });
});

test('our requester downloads from an aria2c seeder given only a magnet link with its x.pe (no tracker)', { timeout: 60_000 }, async (t) => {
  if (!needs(t, 'aria2c', 'aria2')) return;
  await withNetnsWorld('p2p-magnet-req-', async (w) => {
    const adir = path.join(w.dir, 'aria');
    await mkdir(adir);
    const data = randomBytes(4 * MiB + 555);
    await writeFile(path.join(adir, 'fromaria.bin'), data);
    // A tracker URL where nothing listens: aria2c seeds anyway, and the magnet names no tracker.
    const dead = `http://127.0.0.1:${await freePort()}/announce`;
    const torrent = path.join(w.dir, 'fromaria.torrent');
    await writeFile(torrent, await makeTorrent(path.join(adir, 'fromaria.bin'), 'fromaria.bin', { announce: dead, pieceLength: 256 * 1024 }));
    const meta = parseMetainfo(await readFile(torrent));
    const ariaPort = await freePort();
    const aria = w.program('aria2c', aria2Argv(['-V', '--seed-ratio=0.0', '--seed-time=60', `--listen-port=${ariaPort}`, '-d', adir, torrent]));
    await until(() => /seeding|SEED/i.test(aria.out()) || aria.out().includes('100%'), 20_000, () => transcript(['aria2c', aria]));

    const magnet = formatMagnet(meta.infoHash, 'fromaria.bin', [], [], [{ ip: '127.0.0.1', port: ariaPort }]);
    const req = w.cli('requester', [magnet, '--port', String(await freePort()), '--out', 'dl', '--no-seed', '--wait', '20']);
    const code = await within(req.exited, 45_000, 'requester to finish');
    assert.equal(code, 0, transcript(['requester', req], ['aria2c', aria]));
    assert.match(req.out(), new RegExp(`^Metadata received from 127\\.0\\.0\\.1:${ariaPort}: fromaria\\.bin \\(${meta.rawInfo.length} bytes\\)`, 'm'));
    assert.match(req.out(), new RegExp(`^Downloading fromaria\\.bin from Seeder 127\\.0\\.0\\.1:${ariaPort} \\(BitTorrent protocol\\)$`, 'm'));
    assert.ok(await sameBytes(path.join(w.dir, 'dl', 'fromaria.bin'), data), 'the requester has the exact file');
    assert.ok(
      parseMetainfo(await readFile(path.join(w.dir, 'dl', 'fromaria.bin.torrent'))).rawInfo.equals(meta.rawInfo),
      'the saved fromaria.bin.torrent holds the info dict exactly as aria2c has it',
    );
  });
});
