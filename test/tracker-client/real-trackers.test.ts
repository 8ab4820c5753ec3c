/**
 * Our tracker CLIENT (seeder and requester announcing) against other trackers and other torrents:
 *  - opentracker (Debian's build is whitelist-only);
 *  - webtorrent's bittorrent-tracker (installed from npm into a temp folder outside the project);
 *  - BEP 12: announce-list tiers with a dead http tracker and a udp:// one before the live one;
 *  - an announce URL that already has a query (`?passkey=abc`): kept, parameters appended.
 * (The pure parts, URL building and tiers, are tested alone beside this file.)
 * Every tracker and every program of ours runs inside a fresh loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, requireProgram, startTracker, tempDir, type Proc, within, until } from '../support/procs.ts';
import { requireNetns } from '../support/netns.ts';
import { NetnsWorld, withNetnsWorld } from '../support/netns-world.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { encode } from '../../src/metainfo/bencode.ts';
import { makeTorrent as makeSingleFileTorrent } from '../../src/metainfo/create.ts';
import { parseRawQuery } from '../../src/tracker/protocol/query.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;

// ---------------------------------------------------------------- helpers

/** The last lines of each program's output (progress lines use \r: one a line here). */
function transcript(...ps: Array<[string, Proc]>): string {
  const tail = (s: string) => s.replace(/\r/g, '\n').replace(/\n{2,}/g, '\n').slice(-3000);
  return ps.map(([n, p]) => `--- ${n} stdout:\n${tail(p.out())}\n--- ${n} stderr:\n${tail(p.err())}`).join('\n');
}

async function randomFile(dir: string, name: string, size: number): Promise<Buffer> {
  const data = randomBytes(size);
  await writeFile(path.join(dir, name), data);
  return data;
}

const withWorld = (body: (w: NetnsWorld) => Promise<void>) => withNetnsWorld('p2p-trackerclient-', body);

/**
 * Our requester downloads `torrent` (in w.dir) into `dl/`: exit 0, it names the seeder it used,
 * and the file is byte-exact.
 */
async function requesterDownloads(w: NetnsWorld, torrent: string, name: string, seederPort: number, data: Buffer): Promise<Proc> {
  const req = w.cli('requester', [torrent, '--port', String(await freePort()), '--out', 'dl', '--no-seed', '--wait', '20']);
  const code = await within(req.exited, 45_000, 'requester to finish');
  assert.equal(code, 0, transcript(['requester', req]));
  assert.match(req.out(), new RegExp(`^Downloading ${name.replace('.', '\\.')} from Seeder 127\\.0\\.0\\.1:${seederPort}`, 'm'));
  assert.ok((await readFile(path.join(w.dir, 'dl', name))).equals(data), 'the requester has the exact file');
  return req;
}

/**
 * A tiny tracker in the namespace that prints every raw request URL (one JSON string a line) and
 * answers an empty peer list with a 2 s interval.
 */
const RECORDER =
  "const http=require('node:http');" +
  'http.createServer((q,r)=>{console.log(JSON.stringify(q.url));r.end("d8:intervali2e5:peers0:e")})' +
  '.listen(Number(process.argv[1]),"127.0.0.1",()=>console.log("listening"))';

function recorded(p: Proc): string[] {
  return p
    .out()
    .split('\n')
    .filter((l) => l.startsWith('"'))
    .map((l) => JSON.parse(l) as string);
}

// ---------------------------------------------------------------- tests

test('opentracker: our seeder registers and our requester downloads via it', { timeout: 60_000 }, async (t) => {
  if (!requireNetns(t) || !requireProgram(t, 'opentracker', 'opentracker')) return;
  await withWorld(async (w) => {
    const data = await randomFile(w.dir, 'ot.bin', 4 * MiB + 17);
    // Debian's opentracker serves whitelisted info_hashes only: know ours before it starts.
    const hash = parseMetainfo(await makeSingleFileTorrent(path.join(w.dir, 'ot.bin'), 'ot.bin', { announce: 'http://x/', pieceLength: 256 * 1024 })).infoHashHex;
    const port = await freePort();
    await writeFile(path.join(w.dir, 'whitelist.txt'), `${hash}\n`);
    // It switches to user `nobody` (and to folder /) before it reads the whitelist, so the
    // whitelist needs an absolute path that `nobody` can read: the temp folder is 0700.
    // (`tracker.user root` is no way out: it then prints a warning and exits.)
    await chmod(w.dir, 0o755);
    await writeFile(path.join(w.dir, 'opentracker.conf'), `listen.tcp_udp 127.0.0.1:${port}\naccess.whitelist ${path.join(w.dir, 'whitelist.txt')}\n`);
    const ot = w.program('opentracker', ['opentracker', '-f', path.join(w.dir, 'opentracker.conf')]);
    await until(async () => (await w.tryGet(`http://127.0.0.1:${port}/scrape?info_hash=${hash.replace(/../g, '%$&')}`)) !== null, 10_000, () => `opentracker listening\n${transcript(['opentracker', ot])}`);

    const seeder = await w.seeder('ot.bin', `http://127.0.0.1:${port}/announce`, ['--no-web-seed', '--piece-length', '256K']);
    assert.equal(seeder.meta.infoHashHex, hash);
    await seeder.proc.waitFor(/^Successfully registered with tracker\.$/m, 10_000);
    assert.doesNotMatch(seeder.proc.out(), /Tracker unreachable/);
    await requesterDownloads(w, 'ot.bin.torrent', 'ot.bin', seeder.port, data);
  });
});

test("webtorrent's bittorrent-tracker: our seeder registers and our requester downloads via it", { timeout: 150_000 }, async (t) => {
  if (!requireNetns(t)) return;
  const install = await tempDir('p2p-bittorrent-tracker-');
  try {
    // Outside the project; --ignore-scripts: the WebRTC dependency's postinstall downloads.
    try {
      await run('npm', ['install', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund', '--prefix', install.dir, 'bittorrent-tracker'], {
        cwd: install.dir,
        timeout: 120_000,
      });
    } catch (e) {
      const why = `npm install bittorrent-tracker failed (no registry?): ${(e as Error).message.split('\n')[0]}`;
      if (process.env['CI'] === 'true') throw new Error(why);
      t.skip(why);
      return;
    }
    const serverJs = path.join(install.dir, 'node_modules', 'bittorrent-tracker', 'server.js');
    const script = path.join(install.dir, 'serve.mjs');
    // server.js has a default export only (`import { Server }` fails; the package root exports both).
    await writeFile(
      script,
      `import Server from ${JSON.stringify(serverJs)};\n` +
        `const server = new Server({ udp: false, ws: false, http: true, stats: false });\n` +
        `server.on('error', (e) => console.error('error', e.message));\n` +
        `server.on('warning', (e) => console.error('warning', e.message));\n` +
        `server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening'));\n`,
    );

    await withWorld(async (w) => {
      const data = await randomFile(w.dir, 'wt.bin', 4 * MiB + 3);
      const port = await freePort();
      const bt = w.program('bittorrent-tracker', [process.execPath, script, String(port)]);
      await bt.waitFor(/^listening$/m, 15_000);

      const seeder = await w.seeder('wt.bin', `http://127.0.0.1:${port}/announce`, ['--no-web-seed']);
      await seeder.proc.waitFor(/^Successfully registered with tracker\.$/m, 10_000);
      await requesterDownloads(w, 'wt.bin.torrent', 'wt.bin', seeder.port, data);
      assert.doesNotMatch(bt.err(), /error/, transcript(['bittorrent-tracker', bt]));
    });
  } finally {
    await install.remove();
  }
});

test('BEP 12: tier 1 = [dead http, dead udp://], tier 2 = [our tracker]: the requester finds the seeder and completes', { timeout: 60_000 }, async (t) => {
  if (!requireNetns(t)) return;
  await withWorld(async (w) => {
    const data = await randomFile(w.dir, 'tiers.bin', 4 * MiB + 5);
    const live = await startTracker(w.dir, ['--interval', '2'], w.ns.name);
    w.adopt(live.proc);
    const seeder = await w.seeder('tiers.bin', live.announce, ['--no-web-seed']);

    const dead = `http://127.0.0.1:${await freePort()}/announce`; // nothing listens there
    const udp = `udp://127.0.0.1:${await freePort()}/announce`; // nothing listens: port unreachable at once
    // A tier after the live one must never be asked: a recorder there notes any announce.
    const recPort = await freePort();
    const rec = w.program('recorder', [process.execPath, '-e', RECORDER, String(recPort)]);
    await rec.waitFor(/^listening$/m, 10_000);
    const tier3 = `http://127.0.0.1:${recPort}/announce`;

    // Same info dictionary bytes (same info_hash), a new announce / announce-list around it.
    const announceList = [[dead, udp], [live.announce], [tier3]];
    const torrent = Buffer.concat([
      Buffer.from('d8:announce'),
      encode(dead),
      Buffer.from('13:announce-list'),
      encode(announceList),
      Buffer.from('4:info'),
      seeder.meta.rawInfo,
      Buffer.from('e'),
    ]);
    const meta = parseMetainfo(torrent);
    assert.equal(meta.infoHashHex, seeder.meta.infoHashHex);
    assert.deepEqual(meta.announceList, announceList);
    assert.deepEqual(meta.urlList, []);
    await writeFile(path.join(w.dir, 'tiers.torrent'), torrent);

    const t0 = Date.now();
    await requesterDownloads(w, 'tiers.torrent', 'tiers.bin', seeder.port, data);
    t.diagnostic(`download through tier 2 took ${Date.now() - t0} ms`);
    assert.deepEqual(recorded(rec), [], 'tier 3 was never asked');
  });
});

test('an announce URL with a query (?passkey=abc) keeps it; info_hash and peer_id are appended', { timeout: 60_000 }, async (t) => {
  if (!requireNetns(t)) return;
  await withWorld(async (w) => {
    await randomFile(w.dir, 'pk.bin', 100_000);
    const recPort = await freePort();
    const rec = w.program('recorder', [process.execPath, '-e', RECORDER, String(recPort)]);
    await rec.waitFor(/^listening$/m, 10_000);
    const announce = `http://127.0.0.1:${recPort}/announce?passkey=abc`;

    const seeder = await w.seeder('pk.bin', announce);
    await seeder.proc.waitFor(/^Successfully registered with tracker\.$/m, 10_000);
    assert.equal(seeder.meta.announce, announce, 'the torrent keeps the announce URL as given');

    const reqPort = await freePort();
    const req = w.cli('requester', ['pk.bin.torrent', '--port', String(reqPort), '--out', 'dl', '--no-seed', '--wait', '20']);
    // Both announce to the recorder: the seeder (port seeder.port) and the requester (reqPort).
    await until(() => recorded(rec).some((u) => u.includes(`&port=${reqPort}&`)), 15_000, () => transcript(['recorder', rec], ['requester', req]));
    req.kill('SIGKILL');

    for (const [who, port] of [['seeder', seeder.port], ['requester', reqPort]] as const) {
      const url = recorded(rec).find((u) => u.includes(`&port=${port}&`));
      assert.ok(url, `${who} announced`);
      assert.ok(url.startsWith('/announce?passkey=abc&info_hash='), `${who}: passkey kept, then our parameters: ${url}`);
      assert.equal(url.split('?').length, 2, `${who}: one '?' only: ${url}`);
      const q = parseRawQuery(url.slice(url.indexOf('?') + 1), 100);
      assert.deepEqual(q.get('passkey'), [Buffer.from('abc')]);
      assert.deepEqual(q.get('info_hash'), [seeder.meta.infoHash], `${who}: info_hash is the 20 raw bytes: ${url}`);
      const peerId = q.get('peer_id');
      assert.equal(peerId?.length, 1);
      assert.equal(peerId[0]!.length, 20, `${who}: peer_id is 20 bytes`);
      assert.equal(peerId[0]!.subarray(0, 8).toString('latin1'), '-NB0001-');
      assert.equal(q.get('port')?.[0]?.toString(), String(port));
      assert.equal(q.get('compact')?.[0]?.toString(), '1');
      assert.equal(q.get('event')?.[0]?.toString(), 'started', `${who}: first announce is event=started`);
    }
  });
});
