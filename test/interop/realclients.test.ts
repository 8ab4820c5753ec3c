/**
 * Interoperability with real BitTorrent clients (Debian's aria2c, transmission-cli, ctorrent,
 * mktorrent): each test runs every client and every program of ours inside a fresh network
 * namespace that has only loopback, with DHT, LPD, PEX and port mapping off, and compares the
 * bytes on disk.
 *
 * The project's acceptance list, one test per line:
 *  - aria2c downloads from our seeder over the wire protocol (torrent without url-list);
 *  - aria2c downloads from our web seed alone (nothing listens on the torrent's tracker port);
 *  - ctorrent downloads from our seeder over the wire protocol;
 *  - transmission-cli downloads from our seeder (our seeder dials it: Transmission 3.00 never
 *    dials loopback peers it learns from a tracker);
 *  - our requester downloads from an aria2c seeder of a torrent made by mktorrent;
 *  - a mixed swarm: our seeder (upload capped), aria2c and our requester at once, trading;
 *  - our tracker serves real clients: transmission-cli seeds, aria2c downloads, /scrape counts;
 *  - IPv6: our tracker on ::1 answers compact announces from ::1 with `peers6`.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, requireProgram, type Proc, within, until } from '../support/procs.ts';
import { requireNetns, type Netns } from '../support/netns.ts';
import { NetnsWorld, withNetnsWorld } from '../support/netns-world.ts';
import { aria2Argv, transmissionConfig } from '../support/real-clients.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { decode, isBytes, isDict, isInt } from '../../src/metainfo/bencode.ts';
import { parseTrackerReply } from '../../src/tracker-client/reply.ts';

const MiB = 1024 * 1024;

// ---------------------------------------------------------------- helpers

async function sameBytes(file: string, data: Buffer): Promise<boolean> {
  try {
    return (await readFile(file)).equals(data);
  } catch {
    return false;
  }
}

/** A file of random bytes named `name` in `dir` (not a multiple of 16 KiB: the last piece is short). */
async function randomFile(dir: string, name: string, size: number): Promise<Buffer> {
  const data = randomBytes(size);
  await writeFile(path.join(dir, name), data);
  return data;
}

/** The last lines of each program's output (progress lines use \r: one a line here). */
function transcript(...ps: Array<[string, Proc]>): string {
  const tail = (s: string) => s.replace(/\r/g, '\n').replace(/\n{2,}/g, '\n').slice(-3000);
  return ps.map(([n, p]) => `--- ${n} stdout:\n${tail(p.out())}\n--- ${n} stderr:\n${tail(p.err())}`).join('\n');
}

/** aria2c's closing line `uploaded/downloaded=544KiB/8.0MiB`, in bytes. */
function aria2Totals(out: string): { uploaded: number; downloaded: number } | null {
  const m = out.match(/uploaded\/downloaded=([\d.]+)([KMG]?i?B)\/([\d.]+)([KMG]?i?B)/);
  if (!m) return null;
  const unit = (u: string) => ({ B: 1, KiB: 1024, MiB: MiB, GiB: 1024 * MiB })[u] ?? NaN;
  return { uploaded: Number(m[1]) * unit(m[2]!), downloaded: Number(m[3]) * unit(m[4]!) };
}

function transmission(cfg: string, port: number, downloadDir: string, torrent: string): string[] {
  return ['transmission-cli', '-g', cfg, '-M', '-p', String(port), '-w', downloadDir, torrent];
}

/** The addresses on `lo` inside the namespace. */
function loAddresses(ns: Netns): string {
  return execFileSync('ip', ['netns', 'exec', ns.name, 'ip', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
}

/** requireNetns + requireProgram for each [program, debian package]; false = skipped. */
function needs(t: TestContext, ...programs: Array<[string, string]>): boolean {
  if (!requireNetns(t)) return false;
  for (const [program, pkg] of programs) if (!requireProgram(t, program, pkg)) return false;
  return true;
}

const withWorld = (body: (w: NetnsWorld) => Promise<void>) => withNetnsWorld('p2p-realclients-', body);

// ---------------------------------------------------------------- tests

test('aria2c downloads from our seeder over the wire protocol (torrent without url-list)', { timeout: 60_000 }, async (t) => {
  if (!needs(t, ['aria2c', 'aria2'])) return;
  await withWorld(async (w) => {
    const data = await randomFile(w.dir, 'wire.bin', 6 * MiB + 1234);
    const tracker = await w.tracker();
    const seeder = await w.seeder('wire.bin', tracker.announce, ['--no-web-seed']);
    assert.deepEqual(seeder.meta.urlList, [], 'no url-list: the wire protocol is the only way');

    const adir = path.join(w.dir, 'aria');
    await mkdir(adir);
    const torrent = path.join(adir, 'copy.torrent');
    await writeFile(torrent, await readFile(seeder.torrentPath));
    const aria = w.program('aria2c', aria2Argv(['--seed-time=0', `--listen-port=${await freePort()}`, '-d', 'dl', torrent]), adir);
    const code = await within(aria.exited, 45_000, 'aria2c to finish');
    assert.equal(code, 0, transcript(['aria2c', aria], ['seeder', seeder.proc]));
    assert.ok(await sameBytes(path.join(adir, 'dl', 'wire.bin'), data), 'aria2c has the exact file');
    const { uploaded } = await w.stats(seeder.port);
    assert.ok(uploaded >= data.length, `the seeder uploaded the whole file over the wire (${uploaded} bytes)`);
  });
});

test('aria2c downloads from our web seed alone (nothing listens on the tracker port)', { timeout: 60_000 }, async (t) => {
  if (!needs(t, ['aria2c', 'aria2'])) return;
  await withWorld(async (w) => {
    const data = await randomFile(w.dir, 'webseed.bin', 4 * MiB + 77);
    const deadTracker = `http://127.0.0.1:${await freePort()}/announce`;
    const seeder = await w.seeder('webseed.bin', deadTracker);
    assert.match(seeder.proc.out(), /Tracker unreachable/);
    assert.deepEqual(seeder.meta.urlList, [`http://127.0.0.1:${seeder.port}/webseed/${seeder.meta.infoHashHex}/`]);

    const adir = path.join(w.dir, 'aria');
    await mkdir(adir);
    const aria = w.program('aria2c', aria2Argv(['--seed-time=0', `--listen-port=${await freePort()}`, '-d', 'dl', seeder.torrentPath]), adir);
    const code = await within(aria.exited, 45_000, 'aria2c to finish');
    assert.equal(code, 0, transcript(['aria2c', aria], ['seeder', seeder.proc]));
    assert.ok(await sameBytes(path.join(adir, 'dl', 'webseed.bin'), data), 'aria2c has the exact file');
    const { uploaded } = await w.stats(seeder.port);
    assert.ok(uploaded >= data.length, `the web seed served the file (${uploaded} bytes)`);
  });
});

test('ctorrent downloads from our seeder over the wire protocol', { timeout: 60_000 }, async (t) => {
  if (!needs(t, ['ctorrent', 'ctorrent'])) return;
  await withWorld(async (w) => {
    // ctorrent drops tracker peers whose address equals its own: it listens on 127.0.0.1 and
    // calls itself 127.0.0.2, which is on lo as all of 127/8 is.
    assert.match(loAddresses(w.ns), /inet 127\.0\.0\.1\/8/, 'all of 127/8 is on lo');
    const data = await randomFile(w.dir, 'ct.bin', 5 * MiB + 321);
    const tracker = await w.tracker();
    const seeder = await w.seeder('ct.bin', tracker.announce, ['--no-web-seed']);

    const cdir = path.join(w.dir, 'ctorrent');
    await mkdir(cdir);
    await writeFile(path.join(cdir, 'ct.bin.torrent'), await readFile(seeder.torrentPath));
    const ct = w.program('ctorrent', ['ctorrent', '-e', '0', '-i', '127.0.0.1', '-I', '127.0.0.2', '-p', String(await freePort()), 'ct.bin.torrent'], cdir);
    // -e 0: exits once the download is complete (after telling the tracker).
    await until(() => sameBytes(path.join(cdir, 'ct.bin'), data), 45_000, () => transcript(['ctorrent', ct], ['seeder', seeder.proc]));
    await ct.waitFor(/Download complete/, 10_000);
    const { uploaded } = await w.stats(seeder.port);
    assert.ok(uploaded >= data.length, `the seeder uploaded the whole file (${uploaded} bytes)`);
  });
});

test('transmission-cli downloads from our seeder (our seeder dials it)', { timeout: 75_000 }, async (t) => {
  if (!needs(t, ['transmission-cli', 'transmission-cli'])) return;
  await withWorld(async (w) => {
    const data = await randomFile(w.dir, 'tr.bin', 4 * MiB + 5);
    const tracker = await w.tracker();
    const seeder = await w.seeder('tr.bin', tracker.announce, ['--no-web-seed']);

    const tdir = path.join(w.dir, 'transmission');
    await mkdir(path.join(tdir, 'dl'), { recursive: true });
    const cfg = await transmissionConfig(tdir);
    const tr = w.program('transmission-cli', transmission(cfg, await freePort(), path.join(tdir, 'dl'), seeder.torrentPath), tdir);
    await until(() => sameBytes(path.join(tdir, 'dl', 'tr.bin'), data), 60_000, () => transcript(['transmission-cli', tr], ['seeder', seeder.proc]));
    const { uploaded } = await w.stats(seeder.port);
    assert.ok(uploaded >= data.length, `the seeder uploaded the whole file (${uploaded} bytes)`);
  });
});

test('transmission-cli downloads a folder from our web seed alone (beyond the list: BEP 19 multi-file)', { timeout: 60_000 }, async (t) => {
  if (!needs(t, ['transmission-cli', 'transmission-cli'])) return;
  await withWorld(async (w) => {
    const files: Array<[string, Buffer]> = [];
    await mkdir(path.join(w.dir, 'folder', 'sub'), { recursive: true });
    for (const [name, size] of [['a.bin', MiB + 1], ['b.txt', 3], ['sub/c.bin', 2 * MiB + 500]] as const) {
      files.push([name, await randomFile(path.join(w.dir, 'folder'), name, size)]);
    }
    const seeder = await w.seeder('folder', `http://127.0.0.1:${await freePort()}/announce`);
    assert.ok(seeder.meta.multiFile, 'a seeder of a folder makes a multi-file torrent');
    assert.equal(seeder.meta.urlList.length, 1);

    const tdir = path.join(w.dir, 'transmission');
    await mkdir(path.join(tdir, 'dl'), { recursive: true });
    const cfg = await transmissionConfig(tdir);
    const tr = w.program('transmission-cli', transmission(cfg, await freePort(), path.join(tdir, 'dl'), seeder.torrentPath), tdir);
    await until(
      async () => (await Promise.all(files.map(([name, data]) => sameBytes(path.join(tdir, 'dl', 'folder', name), data)))).every(Boolean),
      45_000,
      () => transcript(['transmission-cli', tr], ['seeder', seeder.proc]),
    );
  });
});

test(
  'transmission-cli downloads from our requester seeding with --seed once the seeder is gone (beyond the list)',
  { timeout: 90_000 },
  async (t) => {
    if (!needs(t, ['transmission-cli', 'transmission-cli'])) return;
    await withWorld(async (w) => {
      const data = await randomFile(w.dir, 'reseed.bin', 3 * MiB + 11);
      const tracker = await w.tracker();
      const seeder = await w.seeder('reseed.bin', tracker.announce, ['--no-web-seed']);
      const reqPort = await freePort();
      const req = w.cli('requester', ['reseed.bin.torrent', '--port', String(reqPort), '--out', 'req', '--seed', '--wait', '20']);
      await req.waitFor(/^Seeding reseed\.bin on /m, 30_000);
      assert.ok(await sameBytes(path.join(w.dir, 'req', 'reseed.bin'), data), 'req/reseed.bin is byte-identical to the seeded file');
      // The seeder leaves (announces stopped): only our seeding requester has the data.
      seeder.proc.kill('SIGTERM');
      await within(seeder.proc.exited, 10_000, 'seeder to stop');

      const tdir = path.join(w.dir, 'transmission');
      await mkdir(path.join(tdir, 'dl'), { recursive: true });
      const cfg = await transmissionConfig(tdir);
      const trPort = await freePort();
      const tr = w.program('transmission-cli', transmission(cfg, trPort, path.join(tdir, 'dl'), path.join(w.dir, 'reseed.bin.torrent')), tdir);
      // The tracker lists both to each other...
      await until(
        async () => {
          const r = await w.get(`http://127.0.0.1:${tracker.port}/peers?info_hash=${seeder.meta.infoHashHex}`);
          const peers = (JSON.parse(r.body.toString()) as { peers: Array<{ port: number; seeder: boolean }> }).peers;
          return peers.some((p) => p.port === reqPort && p.seeder) && peers.some((p) => p.port === trPort && !p.seeder);
        },
        15_000,
        () => 'the tracker lists our seeding requester and transmission',
      );
      // ...and a seeding peer must dial the leecher, as our seeder does (about 17 s for it).
      await until(() => sameBytes(path.join(tdir, 'dl', 'reseed.bin'), data), 30_000, () => transcript(['transmission-cli', tr], ['requester', req]));
    });
  },
);

test('our requester downloads from an aria2c seeder of a torrent made by mktorrent', { timeout: 60_000 }, async (t) => {
  if (!needs(t, ['aria2c', 'aria2'], ['mktorrent', 'mktorrent'])) return;
  await withWorld(async (w) => {
    const tracker = await w.tracker();
    const adir = path.join(w.dir, 'aria');
    await mkdir(adir);
    const data = await randomFile(adir, 'mk.bin', 5 * MiB + 999);
    execFileSync('mktorrent', ['-l', '18', '-a', tracker.announce, '-o', path.join(w.dir, 'mk.torrent'), 'mk.bin'], { cwd: adir });
    const meta = parseMetainfo(await readFile(path.join(w.dir, 'mk.torrent')));

    const ariaPort = await freePort();
    // -V: check the data already in place, then seed it (seed-ratio 0 = no ratio limit).
    const aria = w.program('aria2c', aria2Argv(['-V', '--seed-ratio=0.0', '--seed-time=60', `--listen-port=${ariaPort}`, '-d', adir, path.join(w.dir, 'mk.torrent')]));
    await until(
      async () => {
        const r = await w.get(`http://127.0.0.1:${tracker.port}/peers?info_hash=${meta.infoHashHex}`);
        const peers = (JSON.parse(r.body.toString()) as { peers: Array<{ port: number; seeder: boolean }> }).peers;
        return peers.some((p) => p.port === ariaPort && p.seeder);
      },
      20_000,
      () => `aria2c registered as a seeder with our tracker\n${transcript(['aria2c', aria])}`,
    );

    const req = w.cli('requester', ['mk.torrent', '--port', String(await freePort()), '--out', 'dl', '--no-seed', '--wait', '20']);
    const code = await within(req.exited, 45_000, 'requester to finish');
    assert.equal(code, 0, transcript(['requester', req], ['aria2c', aria]));
    assert.match(req.out(), new RegExp(`^Downloading mk\\.bin from Seeder 127\\.0\\.0\\.1:${ariaPort} \\(BitTorrent protocol\\)$`, 'm'));
    assert.match(req.out(), /^File downloaded: mk\.bin, saved to: dl\/mk\.bin$/m);
    assert.ok(await sameBytes(path.join(w.dir, 'dl', 'mk.bin'), data), 'the requester has the exact file');
    assert.deepEqual(await readdir(path.join(w.dir, 'dl')), ['mk.bin']);
  });
});

test('mixed swarm: our seeder (capped), aria2c and our requester download together and trade', { timeout: 90_000 }, async (t) => {
  if (!needs(t, ['aria2c', 'aria2'])) return;
  await withWorld(async (w) => {
    const size = 8 * MiB + 4321;
    const data = await randomFile(w.dir, 'mix.bin', size);
    const tracker = await w.tracker();
    // The capped seeder cannot feed both alone in time: peers must trade.
    const seeder = await w.seeder('mix.bin', tracker.announce, ['--no-web-seed', '--max-upload-rate', '2M', '--piece-length', '64K']);

    const adir = path.join(w.dir, 'aria');
    await mkdir(adir);
    const ariaPort = await freePort();
    const reqPort = await freePort();
    // aria2c downloads at 512 KiB/s at most, so it is still downloading (some 15 s) when our
    // requester has started and found it, however long a loaded machine takes to start it.
    // Uncapped, aria2c had the whole file 3.5-5 s after the requester's spawn, which under load
    // was before the requester's first connection (2.5-8.5 s): no trade, the test failed.
    const aria = w.program('aria2c', aria2Argv(['--seed-time=0', '--max-download-limit=512K', `--listen-port=${ariaPort}`, '-d', 'dl', seeder.torrentPath]), adir);
    // aria2c gets a head start of some pieces (so it has pieces our requester lacks), then our
    // requester joins while aria2c is still downloading.
    await until(async () => (await w.stats(seeder.port)).uploaded >= 1.5 * MiB, 20_000, () => `aria2c to start downloading\n${transcript(['aria2c', aria])}`);
    const req = w.cli('requester', ['mix.bin.torrent', '--port', String(reqPort), '--out', 'req', '--seed', '--wait', '30']);

    const ariaCode = await within(aria.exited, 60_000, 'aria2c to finish');
    assert.equal(ariaCode, 0, transcript(['aria2c', aria], ['requester', req]));
    await req.waitFor(/^Seeding mix\.bin on http:\/\/127\.0\.0\.1:\d+/m, 45_000);

    assert.ok(await sameBytes(path.join(adir, 'dl', 'mix.bin'), data), 'aria2c has the exact file');
    assert.ok(await sameBytes(path.join(w.dir, 'req', 'mix.bin'), data), 'our requester has the exact file');
    assert.ok(await sameBytes(path.join(w.dir, `seed_${seeder.port}`, 'mix.bin'), data), "the seeder's copy is intact");

    // requester -> aria2c: the only peer that downloads from our requester is aria2c.
    const reqStats = await w.stats(reqPort);
    // aria2c -> requester: the requester took aria2c as a BitTorrent-protocol source (dialled at
    // aria2c's listening port, or aria2c's own connection), and aria2c uploaded to someone, who
    // can only be our requester (our seeder never downloads).
    const wire = [...req.out().matchAll(/^Downloading mix\.bin from (?:Seeder|peer) 127\.0\.0\.1:(\d+) \(BitTorrent protocol\)$/gm)].map((m) => Number(m[1]));
    const totals = aria2Totals(aria.out());
    t.diagnostic(`requester uploaded ${reqStats.uploaded} B; aria2c uploaded ${totals?.uploaded} B; requester's wire sources at ports ${wire.join(', ')} (aria2c listens on ${ariaPort})`);
    assert.ok(reqStats.uploaded > 0, `our requester uploaded to aria2c (${reqStats.uploaded} bytes)`);
    assert.ok(wire.length > 0 && !wire.includes(seeder.port), `the requester downloaded from aria2c over the wire protocol:\n${req.out()}`);
    assert.ok(totals && totals.uploaded > 0, `aria2c uploaded to our requester: ${aria.out().match(/uploaded\/downloaded=\S+/)?.[0]}`);

    req.kill('SIGTERM');
    assert.equal(await within(req.exited, 10_000, 'requester to stop on SIGTERM'), 0, transcript(['requester', req]));
  });
});

test('our tracker serves real clients: transmission-cli seeds, aria2c downloads, /scrape counts the seeder', { timeout: 75_000 }, async (t) => {
  if (!needs(t, ['aria2c', 'aria2'], ['transmission-cli', 'transmission-cli'], ['mktorrent', 'mktorrent'])) return;
  await withWorld(async (w) => {
    const tracker = await w.tracker();
    const tdir = path.join(w.dir, 'transmission');
    await mkdir(path.join(tdir, 'data'), { recursive: true });
    const data = await randomFile(path.join(tdir, 'data'), 'real.bin', 4 * MiB + 100);
    execFileSync('mktorrent', ['-l', '18', '-a', tracker.announce, '-o', path.join(w.dir, 'real.torrent'), 'real.bin'], { cwd: path.join(tdir, 'data') });
    const meta = parseMetainfo(await readFile(path.join(w.dir, 'real.torrent')));
    assert.equal(meta.announce, tracker.announce);
    assert.deepEqual(meta.announceList, [], 'our tracker is the only tracker');
    assert.deepEqual(meta.urlList, [], 'no web seed');

    // Transmission never dials loopback peers from a tracker, aria2c does: Transmission seeds.
    const cfg = await transmissionConfig(tdir);
    const tr = w.program('transmission-cli', transmission(cfg, await freePort(), path.join(tdir, 'data'), path.join(w.dir, 'real.torrent')), tdir);
    const adir = path.join(w.dir, 'aria');
    await mkdir(adir);
    const aria = w.program('aria2c', aria2Argv(['--seed-time=0', `--listen-port=${await freePort()}`, '-d', 'dl', path.join(w.dir, 'real.torrent')]), adir);
    const code = await within(aria.exited, 60_000, 'aria2c to finish');
    assert.equal(code, 0, transcript(['aria2c', aria], ['transmission-cli', tr]));
    assert.ok(await sameBytes(path.join(adir, 'dl', 'real.bin'), data), 'aria2c has the exact file');

    const hash = [...meta.infoHash].map((b) => '%' + b.toString(16).padStart(2, '0')).join('');
    const scrape = await w.get(`http://127.0.0.1:${tracker.port}/scrape?info_hash=${hash}`);
    assert.equal(scrape.status, 200);
    const top = decode(scrape.body);
    assert.ok(isDict(top) && isDict(top['files']), scrape.body.toString('latin1'));
    const files = top['files'];
    const entry = files[meta.infoHash.toString('latin1')];
    assert.ok(isDict(entry), `scrape lists the torrent: ${scrape.body.toString('latin1')}`);
    const complete = entry['complete'];
    assert.ok(isInt(complete) && complete >= 1, `complete >= 1 (transmission seeds): ${scrape.body.toString('latin1')}`);
  });
});

test('IPv6: our tracker on ::1 gives compact announces from ::1 each other in peers6', { timeout: 30_000 }, async (t) => {
  if (!requireNetns(t)) return;
  await withWorld(async (w) => {
    if (!/inet6 ::1\/128/.test(loAddresses(w.ns))) {
      t.skip('no ::1 on loopback (IPv6 disabled in the kernel)');
      return;
    }
    const port = await freePort();
    const tracker = w.cli('tracker', ['--host', '::1', '--port', String(port), '--interval', '2']);
    await tracker.waitFor(new RegExp(`^\\* Running on http://\\[::1\\]:${port}$`, 'm'));

    const infoHash = randomBytes(20);
    infoHash[0] = 0x25; // a '%' byte, to be sure it travels escaped
    const enc = (b: Buffer) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');
    const peerA = Buffer.from('-XX0001-aaaaaaaaaaaa');
    const peerB = Buffer.from('-XX0001-bbbbbbbbbbbb');
    const url = (id: Buffer, p: number) =>
      `http://[::1]:${port}/announce?info_hash=${enc(infoHash)}&peer_id=${enc(id)}&port=${p}&uploaded=0&downloaded=0&left=100&compact=1&event=started`;
    // A announces, then B, then A again: B must see A, and A must then see B.
    const script =
      "const http=require('node:http');" +
      'const get=(u)=>new Promise((ok,ko)=>http.get(u,(r)=>{const c=[];r.on("data",(d)=>c.push(d));r.on("end",()=>ok(Buffer.concat(c).toString("base64")))}).on("error",ko));' +
      '(async()=>{const out=[];for(const u of process.argv.slice(1))out.push(await get(u));console.log(JSON.stringify(out))})().catch((e)=>{console.error(e.message);process.exit(1)})';
    const p = w.program('announce6', [process.execPath, '-e', script, url(peerA, 1111), url(peerB, 2222), url(peerA, 1111)]);
    assert.equal(await within(p.exited, 10_000, 'the announces'), 0, p.err());
    const replies = (JSON.parse(p.out()) as string[]).map((b) => Buffer.from(b, 'base64'));

    const raw6 = (body: Buffer) => {
      const top = decode(body);
      assert.ok(isDict(top), body.toString('latin1'));
      assert.equal(top['failure reason'], undefined, body.toString('latin1'));
      const v4 = top['peers'];
      assert.ok(v4 === undefined || (isBytes(v4) && v4.length === 0), 'no IPv4 peers');
      const v6 = top['peers6'];
      return isBytes(v6) ? v6 : Buffer.alloc(0);
    };
    const loop6 = Buffer.from('00000000000000000000000000000001', 'hex');
    const entry = (p: number) => Buffer.concat([loop6, Buffer.from([p >> 8, p & 0xff])]);

    assert.equal(raw6(replies[0]!).length, 0, 'A alone: nobody else');
    assert.deepEqual(raw6(replies[1]!), entry(1111), 'B gets A as 18 bytes in peers6');
    assert.deepEqual(raw6(replies[2]!), entry(2222), 'A gets B (never itself)');
    // And our own client parses it back.
    assert.deepEqual(parseTrackerReply(replies[1]!).peers, [{ ip: '::1', port: 1111 }]);
  });
});
