/**
 * Attacks on a downloading requester (issue #13 items 1 and 7), against the real programs on
 * loopback: a tracker, an honest seeder (rate-capped so the download lasts a few seconds) and
 * our requester, plus one attacker written in test/support/attack-download.ts. The download must
 * complete byte-exact with the attacker present.
 *
 * The attackers sit on 127.0.0.2, another address than the honest peers (127.0.0.1): bans are
 * by address, as they must be (a peer_id or a port costs an attacker nothing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startTracker } from '../support/procs.ts';
import { parseMetainfo, type Metainfo } from '../../src/metainfo/metainfo.ts';
import { Scope, exitWithin, sha1, sha1File, sleep, startRequester, startSeeder, until } from '../support/bad-peers.ts';
import { WireLiar, startLyingHttp, startTrickler } from '../support/attack-download.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSeedSource } from '../../src/download/sources/webseed-source.ts';

const MiB = 1024 * 1024;
const ATTACKER = '127.0.0.2';

interface World {
  scope: Scope;
  dir: string;
  data: Buffer;
  meta: Metainfo;
  torrent: string;
  trackerPort: number;
  announce: string;
}

/** Tracker + honest seeder of `size` random bytes in 256 KiB pieces, capped at `rate`. */
async function world(scope: Scope, size: number, rate: string): Promise<World> {
  const dir = await scope.dir('p2p-dl-attacks-');
  const data = randomBytes(size);
  await writeFile(path.join(dir, 'file.bin'), data);
  const tracker = await startTracker(dir, ['--interval', '1']);
  scope.adopt(tracker.proc);
  const seeder = await startSeeder(scope, dir, 'file.bin', tracker.announce, ['--piece-length', '256K', '--max-upload-rate', rate]);
  const meta = parseMetainfo(await readFile(seeder.torrent));
  return { scope, dir, data, meta, torrent: seeder.torrent, trackerPort: tracker.port, announce: tracker.announce };
}

async function assertExact(w: World, out: string): Promise<void> {
  assert.equal(await sha1File(path.join(w.dir, out, 'file.bin')), sha1(w.data), 'the file equals the original');
}

test('attack: a peer that dials in with a fresh peer_id each time and sends junk is banned by address; the download completes exact', { timeout: 60_000 }, async (t) => {
  const scope = new Scope();
  let liar: WireLiar | undefined;
  try {
    const w = await world(scope, 8 * MiB, '2M'); // 32 pieces, about 4 s from the seeder
    const req = await startRequester(scope, w.dir, w.torrent, ['--out', 'dl', '--no-seed', '--wait', '20']);
    await req.proc.waitFor(/Found \d+ seeder/, 15_000);
    // Claims one piece only, so every failure is of that piece (the old rule gave up at 5).
    const target = Math.floor(w.meta.pieceCount / 2);
    liar = new WireLiar({ host: '127.0.0.1', port: req.port, localAddress: ATTACKER, infoHash: w.meta.infoHash, pieceCount: w.meta.pieceCount, claim: [target] });
    const code = await exitWithin(req.proc, 40_000, 'requester');
    await liar.stop();
    const out = req.proc.out() + req.proc.err();
    t.diagnostic(`liar: ${liar.connections} connections, ${liar.badBlocks} junk blocks sent, ${liar.refused} refused at once`);
    assert.equal(code, 0, `requester exits 0\n${out}`);
    await assertExact(w, 'dl');
    assert.match(out, new RegExp(`^Banned peer 127\\.0\\.0\\.2:\\d+: .*127\\.0\\.0\\.2 banned`, 'm'));
    const failures = out.match(/failed its SHA-1 check \(from 127\.0\.0\.2/g) ?? [];
    assert.equal(failures.length, 1, 'one bad piece, then the address is out whatever peer_id it uses');
    assert.ok(liar.connections >= 2 && liar.refused >= 1, 'it came back under new peer_ids and was refused at once');
  } finally {
    await liar?.stop();
    await scope.dispose();
  }
});

test('attack: X-P2P-Listen-Port hints pointing at lying HTTP servers on several ports: banned by address; the download completes exact', { timeout: 60_000 }, async (t) => {
  const scope = new Scope();
  try {
    const w = await world(scope, 8 * MiB, '2M');
    const target = Math.floor(w.meta.pieceCount / 2);
    const liars = await startLyingHttp(ATTACKER, 6, { infoHashHex: w.meta.infoHashHex, pieceCount: w.meta.pieceCount, pieceLength: w.meta.pieceLength, claim: [target] });
    scope.defer(() => liars.close());
    const req = await startRequester(scope, w.dir, w.torrent, ['--out', 'dl', '--no-seed', '--wait', '20']);
    await req.proc.waitFor(/Found \d+ seeder/, 15_000);
    // Hint a new port every 100 ms while the download runs (a new port escaped a ban by id).
    let hints = 0;
    const hinting = (async () => {
      while (req.proc.child.exitCode === null) {
        await liars.hint(req.port, hints++ % liars.ports.length).catch(() => {});
        await sleep(100);
      }
    })();
    const code = await exitWithin(req.proc, 40_000, 'requester');
    await hinting;
    const out = req.proc.out() + req.proc.err();
    t.diagnostic(`${hints} hints sent; lying servers answered ${liars.pieceRequests()} piece requests`);
    assert.equal(code, 0, `requester exits 0\n${out}`);
    await assertExact(w, 'dl');
    assert.match(out, /^Banned peer 127\.0\.0\.2:\d+: .*127\.0\.0\.2 banned/m);
    assert.equal((out.match(/failed its SHA-1 check \(from 127\.0\.0\.2/g) ?? []).length, 1, 'one bad piece from that address');
    assert.ok(hints >= 10, 'the hints went on after the ban');
  } finally {
    await scope.dispose();
  }
});

test('attack: two trickling peers holding the same piece cannot block it; the download completes exact, in bounded time', { timeout: 60_000 }, async (t) => {
  const scope = new Scope();
  try {
    const w = await world(scope, 4 * MiB, '4M'); // 16 pieces, about 1 s from the seeder
    const target = w.meta.pieceCount - 1;
    const claim = { infoHashHex: w.meta.infoHashHex, pieceCount: w.meta.pieceCount, pieceLength: w.meta.pieceLength, claim: [target] };
    // One byte every 500 ms: well inside --request-timeout 2, so no inactivity timeout fires.
    const tricklers = [await startTrickler({ ...claim, everyMs: 500 }), await startTrickler({ ...claim, everyMs: 500 })];
    for (const tr of tricklers) {
      scope.defer(() => tr.close());
      await tr.register(w.announce, w.meta.infoHash);
    }
    const t0 = Date.now();
    const req = await startRequester(scope, w.dir, w.torrent, ['--out', 'dl', '--no-seed', '--wait', '15', '--request-timeout', '2']);
    await until(() => tricklers.every((tr) => tr.pieceRequests() > 0), 15_000, 'both tricklers to be asked for the piece');
    const code = await exitWithin(req.proc, 30_000, 'requester');
    const took = Date.now() - t0;
    const out = req.proc.out() + req.proc.err();
    t.diagnostic(`done in ${took} ms; trickler piece requests: ${tricklers.map((tr) => tr.pieceRequests()).join(', ')}`);
    assert.equal(code, 0, `requester exits 0\n${out}`);
    await assertExact(w, 'dl');
    assert.ok(took < 15_000, `completed in ${took} ms, before the 15 s stall timeout could end it`);
  } finally {
    await scope.dispose();
  }
});

test('WebSeedSource.close() ends its requests in flight: the socket is closed, the fetch rejects at once', { timeout: 20_000 }, async () => {
  let closedByClient!: () => void;
  const socketClosed = new Promise<void>((r) => (closedByClient = r));
  let timer: NodeJS.Timeout | undefined;
  // A web seed that sends the headers and then a byte every 100 ms (never silent for the timeout).
  const server = http.createServer((req, res) => {
    res.writeHead(206, { 'Content-Length': 1024 * 1024, 'Content-Range': `bytes 0-${1024 * 1024 - 1}/${1024 * 1024}` });
    res.flushHeaders();
    timer = setInterval(() => res.write('x'), 100);
    req.socket.on('close', () => {
      clearInterval(timer);
      closedByClient();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const meta = {
      name: 'f.bin',
      multiFile: false,
      pieceLength: 1024 * 1024,
      length: 1024 * 1024,
      files: [{ path: [], length: 1024 * 1024, offset: 0, pad: false }],
    } as unknown as Metainfo;
    const seed = new WebSeedSource(`http://127.0.0.1:${port}/f.bin`, meta, 10_000);
    assert.equal(seed.address, '127.0.0.1');
    const fetching = seed.fetchBlockInto(0, 0, Buffer.alloc(1024 * 1024), new AbortController().signal);
    fetching.catch(() => {});
    await sleep(300);
    const t0 = Date.now();
    seed.close();
    await assert.rejects(fetching);
    await socketClosed;
    assert.ok(Date.now() - t0 < 1000, `closed within ${Date.now() - t0} ms`);
  } finally {
    clearInterval(timer);
    server.closeAllConnections();
    server.close();
  }
});
