/**
 * Issue #13, items 5, 6 and 8: what our outgoing requests and our disk writes meet.
 *  5. A tracker that trickles its answer to `completed`/`stopped` one byte a second: the
 *     `--no-seed` requester exits within 5 s of "File downloaded", the seeder within 5 s of
 *     SIGTERM (real CLIs). Any request has a total deadline, not only an inactivity timeout.
 *  6. Links planted in the requester's output folder (`.part`, `.part.state(.tmp)`, a sub-folder
 *     of a multi-file torrent, the final name): the link's target is never written; the requester
 *     refuses with a one-line message or goes on safely (real CLI), plus the storage calls alone.
 *  8. A web seed that streams junk after the asked range: at most a bounded amount is read past
 *     it and the connection is closed, for every framing of the answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { link, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { freePort, startTracker, within } from '../support/procs.ts';
import { Scope, sha1, sha1File, sleep, startRequester, startSeeder, until } from '../support/bad-peers.ts';
import { startJunkSeed, startTrickleTracker, type JunkShape } from '../support/attack-client.ts';
import { httpGet, httpGetRange, GuardedAgent } from '../../src/net/http-client.ts';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { PieceStore, renameDurably } from '../../src/storage/piece-store.ts';
import { loadResumeState, writeFileAtomic } from '../../src/storage/resume-state.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

// ------------------------------------------------------------------ 5: a trickling tracker

test('item 5: a tracker trickling its `completed`/`stopped` answers: the --no-seed requester exits within 5 s of "File downloaded"', { timeout: 60_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-attack-client-');
    const data = randomBytes(MiB);
    await writeFile(path.join(dir, 'file.bin'), data);
    let seederPort = 0;
    // Downloaders (left > 0) are told of the seeder; completed/stopped answers trickle.
    const tracker = await startTrickleTracker({
      trickle: ['completed', 'stopped'],
      byteEveryMs: 1000,
      peers: (url) => (/[?&]left=0(&|$)/.test(url) ? [] : [{ ip: '127.0.0.1', port: seederPort }]),
    });
    scope.defer(() => tracker.close());
    seederPort = (await startSeeder(scope, dir, 'file.bin', tracker.announce, ['--no-web-seed', '--requester-dir', 'req'])).port;
    const req = await startRequester(scope, dir, 'file.bin.torrent', ['--out', 'dl', '--no-seed', '--wait', '20']);
    await req.proc.waitFor(/File downloaded/, 30_000);
    const downloadedAt = Date.now();
    const code = await within(req.proc.exited, 5000, `the requester to exit within 5 s of "File downloaded"\nstdout:\n${req.proc.out()}`);
    assert.equal(code, 0, req.proc.err());
    const tookMs = Date.now() - downloadedAt;
    assert.ok(tookMs < 5000, `exited ${tookMs} ms after "File downloaded"`);
    t.diagnostic(`the --no-seed requester exited ${tookMs} ms after "File downloaded"`);
    assert.equal(sha1(await readFile(path.join(dir, 'dl', 'file.bin'))), sha1(data));
    assert.ok(tracker.events.includes('completed'), `completed was sent (${tracker.events})`);
  } finally {
    await scope.dispose();
  }
});

test('item 5: a tracker trickling its `stopped` answer: the seeder exits within 5 s of SIGTERM', { timeout: 60_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-attack-client-');
    await writeFile(path.join(dir, 'file.bin'), randomBytes(64 * KiB));
    const tracker = await startTrickleTracker({ trickle: ['stopped'], byteEveryMs: 1000, peers: () => [] });
    scope.defer(() => tracker.close());
    const seeder = await startSeeder(scope, dir, 'file.bin', tracker.announce, ['--no-web-seed', '--requester-dir', 'req']);
    await seeder.proc.waitFor(/Successfully registered with tracker/);
    const killedAt = Date.now();
    seeder.proc.kill('SIGTERM');
    await within(seeder.proc.exited, 5000, `the seeder to exit within 5 s of SIGTERM\nstdout:\n${seeder.proc.out()}`);
    t.diagnostic(`the seeder exited ${Date.now() - killedAt} ms after SIGTERM`);
    await until(() => tracker.events.includes('stopped'), 1000, 'the seeder to send stopped');
  } finally {
    await scope.dispose();
  }
});

/** An HTTP server that answers every GET with a 1000-byte body, one byte every `everyMs`. */
async function tricklingServer(everyMs: number): Promise<{ url: string; close(): void }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': 1000 });
    const timer = setInterval(() => res.write('x'), everyMs);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => (server.closeAllConnections(), server.close()) };
}

test('item 5: every request has a total deadline; a trickle that keeps the inactivity timeout at bay is cut', { timeout: 30_000 }, async () => {
  const srv = await tricklingServer(100);
  try {
    const t0 = Date.now();
    await assert.rejects(within(httpGet(srv.url, { timeoutMs: 1000, deadlineMs: 1500, maxBytes: 4096 }), 5000, 'httpGet to end'), /within 1500 ms/);
    assert.ok(Date.now() - t0 < 2500, `cut after ${Date.now() - t0} ms`);
    const t1 = Date.now();
    await assert.rejects(within(httpGetRange(srv.url, 0, 1000, { timeoutMs: 1000, deadlineMs: 1500 }), 5000, 'httpGetRange to end'), /within 1500 ms/);
    assert.ok(Date.now() - t1 < 2500, `cut after ${Date.now() - t1} ms`);
  } finally {
    srv.close();
  }
});

// ------------------------------------------------------------------ 8: a web seed streaming junk

for (const shape of ['exact-length', 'no-length', 'longer-range', 'ignores-range'] as JunkShape[]) {
  test(`item 8: a web seed that streams junk after the range (${shape}): the range is exact, the junk is not read, the connection closes`, { timeout: 30_000 }, async () => {
    const data = randomBytes(256 * KiB);
    const seed = await startJunkSeed(data, shape);
    try {
      const got = await httpGetRange(seed.url, 1000, 100_000, { timeoutMs: 5000 });
      assert.ok(got.equals(data.subarray(1000, 101_000)), 'the bytes asked for');
      await until(() => seed.closed() === seed.connections(), 2000, `the connection to be closed (written so far: ${seed.written()} bytes)`);
      await sleep(300);
      // What the server could write is our bytes plus what the kernel buffers took before the
      // close: a few MiB at most, instead of everything the server can send.
      assert.ok(seed.written() < 16 * MiB, `the server wrote ${seed.written()} bytes`);
    } finally {
      await seed.close();
    }
  });
}

test('item 8: an honest web seed keeps its kept-alive connection (the junk guard costs no reconnects)', { timeout: 30_000 }, async () => {
  const data = randomBytes(64 * KiB);
  let connections = 0;
  const server = http.createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
    const [a, b] = [Number(m[1]), Number(m[2])];
    res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/${data.length}`, 'Content-Length': b - a + 1 }).end(data.subarray(a, b + 1));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
  const agent = new GuardedAgent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 5; i++) {
      const got = await httpGetRange(url, i * 1000, 1000, { timeoutMs: 5000, agent });
      assert.ok(got.equals(data.subarray(i * 1000, (i + 1) * 1000)), `bytes ${i * 1000}-${(i + 1) * 1000 - 1} are the expected range`);
    }
    assert.equal(connections, 1);
  } finally {
    agent.destroy();
    server.closeAllConnections();
    server.close();
  }
});

// ------------------------------------------------------------------ 6: links in the output folder

async function unchanged(file: string, content: Buffer): Promise<void> {
  assert.ok((await readFile(file)).equals(content), `${file} is untouched`);
}

/** A torrent for `rel` (a file or folder under `dir`) with a tracker that nobody answers. */
async function deadTrackerTorrent(dir: string, rel: string): Promise<string> {
  const torrent = path.join(dir, `${rel}.torrent`);
  await writeFile(torrent, await makeTorrent(path.join(dir, rel), rel, { announce: `http://127.0.0.1:${await freePort()}/announce`, pieceLength: 16 * KiB }));
  return torrent;
}

test('item 6: `<name>.part` as a link to another file: the requester refuses in one line, the file is untouched', { timeout: 30_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-attack-client-');
    await writeFile(path.join(dir, 'file.bin'), randomBytes(100 * KiB));
    const torrent = await deadTrackerTorrent(dir, 'file.bin');
    const victim = path.join(dir, 'victim.txt');
    const content = Buffer.from('precious data\n');
    await writeFile(victim, content);
    await mkdir(path.join(dir, 'dl'));
    await symlink(victim, path.join(dir, 'dl', 'file.bin.part'));
    const req = await startRequester(scope, dir, torrent, ['--out', 'dl', '--no-seed', '--wait', '3']);
    const code = await within(req.proc.exited, 15_000, 'the requester to end');
    await unchanged(victim, content);
    assert.equal(code, 1);
    assert.match(req.proc.err(), /^Error: .*file\.bin\.part is a symbolic link; refusing to write through it$/m);
  } finally {
    await scope.dispose();
  }
});

test('item 6: a link for the top folder or a sub-folder of a multi-file torrent: nothing is written in its target', { timeout: 30_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-attack-client-');
    await mkdir(path.join(dir, 'album', 'sub'), { recursive: true });
    await writeFile(path.join(dir, 'album', 'a.bin'), randomBytes(20 * KiB));
    await writeFile(path.join(dir, 'album', 'sub', 'b.bin'), randomBytes(30 * KiB));
    const torrent = await deadTrackerTorrent(dir, 'album');
    for (const [label, plant] of [
      ['top folder', async (out: string, target: string) => symlink(target, path.join(out, 'album.part'))],
      ['sub-folder', async (out: string, target: string) => (await mkdir(path.join(out, 'album.part')), symlink(target, path.join(out, 'album.part', 'sub')))],
    ] as const) {
      await t.test(label, async () => {
        const out = path.join(dir, `dl-${label.replace(' ', '-')}`);
        const target = path.join(dir, `target-${label.replace(' ', '-')}`);
        await mkdir(out);
        await mkdir(target);
        await plant(out, target);
        const req = await startRequester(scope, dir, torrent, ['--out', out, '--no-seed', '--wait', '3']);
        const code = await within(req.proc.exited, 15_000, 'the requester to end');
        assert.deepEqual(await readdir(target), [], 'nothing written in the link target');
        assert.equal(code, 1);
        assert.match(req.proc.err(), /^Error: .* is a symbolic link; refusing to write through it$/m);
      });
    }
  } finally {
    await scope.dispose();
  }
});

test('item 6: `.part.state.tmp` and `.part.state` as links: a real download goes on, the targets are untouched', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-attack-client-');
    const data = randomBytes(2 * MiB);
    await writeFile(path.join(dir, 'file.bin'), data);
    const tracker = await startTracker(dir);
    scope.adopt(tracker.proc);
    // Slow enough (about 3 s) that the state file is written at least once on the way.
    const seeder = await startSeeder(scope, dir, 'file.bin', tracker.announce, ['--piece-length', '64K', '--max-upload-rate', '700K', '--no-web-seed', '--requester-dir', 'req']);
    const victims = { tmp: path.join(dir, 'victim-tmp.txt'), state: path.join(dir, 'victim-state.txt') };
    const content = Buffer.from('precious data\n');
    await writeFile(victims.tmp, content);
    await writeFile(victims.state, content);
    await mkdir(path.join(dir, 'dl'));
    await symlink(victims.tmp, path.join(dir, 'dl', 'file.bin.part.state.tmp'));
    await symlink(victims.state, path.join(dir, 'dl', 'file.bin.part.state'));
    const req = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '20']);
    assert.equal(await within(req.proc.exited, 40_000, 'the download'), 0, req.proc.err());
    await unchanged(victims.tmp, content);
    await unchanged(victims.state, content);
    assert.equal(await sha1File(path.join(dir, 'dl', 'file.bin')), sha1(data));
  } finally {
    await scope.dispose();
  }
});

test('item 6: the final name as a link: an existing target is kept, a missing one is never created', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-attack-client-');
    const data = randomBytes(256 * KiB);
    await writeFile(path.join(dir, 'file.bin'), data);
    const tracker = await startTracker(dir);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'file.bin', tracker.announce, ['--no-web-seed', '--requester-dir', 'req']);
    const victim = path.join(dir, 'victim.txt');
    const content = Buffer.from('precious data\n');
    await writeFile(victim, content);
    const missing = path.join(dir, 'never-created.bin');
    for (const [out, target] of [['dl-existing', victim], ['dl-missing', missing]] as const) {
      await mkdir(path.join(dir, out));
      await symlink(target, path.join(dir, out, 'file.bin'));
      const req = await startRequester(scope, dir, seeder.torrent, ['--out', out, '--no-seed', '--wait', '20']);
      assert.equal(await within(req.proc.exited, 30_000, 'the requester to end'), 1, req.proc.out());
      assert.match(req.proc.err(), /^Error: .*file\.bin already exists .*; not (overwriting|replacing) it$/m);
    }
    await unchanged(victim, content);
    await assert.rejects(stat(missing), { code: 'ENOENT' });
  } finally {
    await scope.dispose();
  }
});

test('item 6, storage alone: links, hard links and FIFOs where the piece store and the resume state write', { timeout: 30_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-attack-client-');
    const victim = path.join(dir, 'victim.txt');
    const content = Buffer.from('precious data\n');
    await writeFile(victim, content);
    const root = path.join(dir, 'dl');
    await mkdir(root);
    const file = (name: string, length = 100) => [{ path: path.join(root, name), length, offset: 0, root }];

    await symlink(victim, path.join(root, 'a.part'));
    await assert.rejects(PieceStore.openForWriting(file('a.part')), /a\.part is a symbolic link; refusing to write through it/);
    await link(victim, path.join(root, 'b.part'));
    await assert.rejects(PieceStore.openForWriting(file('b.part')), /has other hard links/);
    await symlink(dir, path.join(root, 'sub'));
    await assert.rejects(PieceStore.openForWriting(file(path.join('sub', 'c.bin'))), /sub is a symbolic link/);
    await assert.rejects(stat(path.join(dir, 'c.bin')), { code: 'ENOENT' });
    await unchanged(victim, content);

    // A plain new file still works, and a second open keeps its bytes (resume).
    const store = await PieceStore.openForWriting(file(path.join('x', 'y', 'd.bin'), 4));
    await store.write(0, Buffer.from('abcd'));
    await store.close();
    const again = await PieceStore.openForWriting(file(path.join('x', 'y', 'd.bin'), 4));
    assert.equal((await again.read(0, 4)).toString(), 'abcd');
    await again.close();

    // Resume state: the temp file and the state itself as links; a FIFO does not hang the load.
    const state = path.join(root, 's.part.state');
    await symlink(victim, `${state}.tmp`);
    await symlink(victim, state);
    assert.equal(await loadResumeState(state, 'ab'.repeat(20), 8), null, 'a link is no state');
    await writeFileAtomic(state, Buffer.from('{}'));
    await unchanged(victim, content);
    assert.equal((await readFile(state)).toString(), '{}');
    const fifo = path.join(root, 'f.part.state');
    execFileSync('mkfifo', [fifo]);
    assert.equal(await within(loadResumeState(fifo, 'ab'.repeat(20), 8), 2000, 'loading a FIFO state'), null);
    const good = path.join(root, 'g.part.state');
    const have = new Bitfield(8);
    have.set(3);
    await writeFileAtomic(good, Buffer.from(JSON.stringify({ version: 1, infoHash: 'ab'.repeat(20), pieceCount: 8, bitfield: have.bytes.toString('base64') })));
    assert.equal((await loadResumeState(good, 'ab'.repeat(20), 8))?.has(3), true, 'a real state still loads');

    // The final rename never replaces what appeared at the final name (here a link).
    await writeFile(path.join(root, 'done.part'), 'data');
    await symlink(victim, path.join(root, 'done'));
    await assert.rejects(renameDurably(path.join(root, 'done.part'), path.join(root, 'done')), /already exists/);
    await unchanged(victim, content);
    await renameDurably(path.join(root, 'done.part'), path.join(root, 'done2'));
    assert.equal((await readFile(path.join(root, 'done2'))).toString(), 'data');
  } finally {
    await scope.dispose();
  }
});
