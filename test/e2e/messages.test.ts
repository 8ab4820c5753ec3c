/**
 * The requester's messages, from the real CLI: the final error names its cause (a dead tracker
 * with its URL, a missing file without errno codes), a busy port is said before anything is
 * written, a failed run leaves no empty `.part`, a tracker error is said once (not every retry),
 * and the words match the facts: seeders vs peers, a folder, web seeds apart from peers, a
 * closing summary.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { freePort, startTracker } from '../support/procs.ts';
import { Scope, exitWithin, startRequester, startSeeder } from '../support/bad-peers.ts';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { publicAddress } from '../../src/net/reachable-addresses.ts';
import { urlHost } from '../../src/bittorrent/address.ts';

const scope = new Scope();
after(() => scope.dispose());

/** stderr's lines (non-empty). */
const errLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

describe('the requester says what went wrong', { concurrency: true }, () => {
  test('a missing torrent: "No such file", no errno code', async () => {
    const dir = await scope.dir();
    const r = await startRequester(scope, dir, 'nothere.torrent', ['--no-seed']);
    assert.equal(await exitWithin(r.proc, 15_000, 'requester'), 1);
    assert.deepEqual(errLines(r.proc.err()), ['Error: No such file: nothere.torrent']);
    assert.doesNotMatch(r.proc.out() + r.proc.err(), /\bE[A-Z]{3,}\b/, 'no errno code');
  });

  test('a folder given as the torrent: said so', async () => {
    const dir = await scope.dir();
    await mkdir(path.join(dir, 'photos'));
    const r = await startRequester(scope, dir, 'photos', ['--no-seed']);
    assert.equal(await exitWithin(r.proc, 15_000, 'requester'), 1);
    assert.deepEqual(errLines(r.proc.err()), ['Error: photos is a folder, not a .torrent file']);
  });

  test('a busy port: one line naming --port, said at once, no .part written', async () => {
    const dir = await scope.dir();
    await writeFile(path.join(dir, 'data.bin'), randomBytes(40_000));
    await writeFile(path.join(dir, 'x.torrent'), await makeTorrent(path.join(dir, 'data.bin'), 'x.bin', { announce: `http://127.0.0.1:${await freePort()}/announce` }));
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    scope.defer(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    const port = (busy.address() as net.AddressInfo).port;
    const r = await startRequester(scope, dir, 'x.torrent', ['--no-seed', '--out', 'dl'], port);
    assert.equal(await exitWithin(r.proc, 15_000, 'requester'), 1);
    assert.deepEqual(errLines(r.proc.err()), [`Error: cannot listen on 127.0.0.1:${port}: the port is in use by another program; choose another with --port`]);
    assert.doesNotMatch(r.proc.out(), /Retrieved info_hash/, 'said before reading the torrent');
    assert.deepEqual(await readdir(dir).then((l) => l.sort()), ['data.bin', 'x.torrent'], 'nothing written');
  });

  test('a dead tracker: the final error names it, the tracker error is said once, no .part left', async () => {
    const dir = await scope.dir();
    const dead = `http://127.0.0.1:${await freePort()}/announce`;
    await writeFile(path.join(dir, 'data.bin'), randomBytes(40_000));
    await writeFile(path.join(dir, 'dead.torrent'), await makeTorrent(path.join(dir, 'data.bin'), 'dead.bin', { announce: dead }));
    const r = await startRequester(scope, dir, 'dead.torrent', ['--no-seed', '--out', 'dl', '--wait', '5']);
    assert.equal(await exitWithin(r.proc, 30_000, 'requester'), 1);
    const err = errLines(r.proc.err());
    assert.equal(err.length, 1, r.proc.err());
    assert.match(err[0]!, new RegExp(`^Error: tracker unreachable at ${dead.replaceAll('.', '\\.')} \\(.+\\): no peer found within 5 s$`));
    // The starved loop asks again at 1, 2 and 4 s: one line for the user, not one per try.
    const said = r.proc.out().split('\n').filter((l) => l.startsWith('Tracker unreachable'));
    assert.equal(said.length, 1, r.proc.out());
    assert.doesNotMatch(said[0]!, /retrying in \d+ s/, 'no countdown that the next try contradicts');
    assert.deepEqual(await readdir(path.join(dir, 'dl')), [], 'no empty .part or .part.state left');
  });
});

test('a swarm without a piece: the final error says "no peer has piece N"', { timeout: 90_000 }, async () => {
  const dir = await scope.dir();
  const t = await startTracker(dir);
  scope.adopt(t.proc);
  await writeFile(path.join(dir, 'half.bin'), randomBytes(1024 * 1024));
  const seeder = await startSeeder(scope, dir, 'half.bin', t.announce, ['--no-web-seed', '--max-upload-rate', '64K']);
  // A gets a few pieces from a slow seeder, then the seeder dies: A holds part of the file only.
  const a = await startRequester(scope, dir, seeder.torrent, ['--out', 'a', '--wait', '60']);
  await a.proc.waitFor(/^Progress: [1-9]/m, 30_000);
  seeder.proc.kill('SIGKILL');
  await seeder.proc.exited;
  const b = await startRequester(scope, dir, seeder.torrent, ['--out', 'b', '--no-seed', '--wait', '4']);
  assert.equal(await exitWithin(b.proc, 40_000, 'requester B'), 1);
  assert.match(b.proc.err(), /^Error: no progress for 4 s: no peer has piece \d+( \(nor \d+ other pieces?\))?$/m, b.proc.out() + b.proc.err());
  assert.match(b.proc.out(), /^\d+ of \d+ pieces kept in b\/half\.bin\.part: run again to resume$/m, 'the verified pieces are kept, and said so');
});

describe('words that match the facts', { concurrency: true }, () => {
  test('a slow seeder and a requester still downloading: "peers (1 seeder)", "from peer", a closing summary', { timeout: 90_000 }, async () => {
    const dir = await scope.dir();
    const t = await startTracker(dir);
    scope.adopt(t.proc);
    await writeFile(path.join(dir, 'slow.bin'), randomBytes(768 * 1024));
    const seeder = await startSeeder(scope, dir, 'slow.bin', t.announce, ['--no-web-seed', '--max-upload-rate', '96K']);
    const a = await startRequester(scope, dir, seeder.torrent, ['--out', 'a']);
    await a.proc.waitFor(/^Downloading slow\.bin from Seeder 127\.0\.0\.1:\d+/m, 20_000);
    await a.proc.waitFor(/^Progress: /m, 20_000); // A holds some pieces: a peer, not a seed
    const b = await startRequester(scope, dir, seeder.torrent, ['--out', 'b', '--no-seed']);
    await b.proc.waitFor(/^Found 2 peers \(1 seeder\), starting download\.\.\.$/m, 20_000);
    await b.proc.waitFor(new RegExp(`^Downloading slow\\.bin from peer 127\\.0\\.0\\.1:${a.port}( \\(BitTorrent protocol\\))?$`, 'm'), 20_000);
    assert.equal(await exitWithin(b.proc, 60_000, 'requester B'), 0);
    assert.match(b.proc.out(), /^File downloaded: slow\.bin, saved to: b\/slow\.bin$/m);
    assert.match(b.proc.out(), /^Downloaded 768\.0 KiB in [\d.]+ s \([\d.]+ KiB\/s on average\) from 2 sources \(2 peers\)$/m);
  });

  test('a folder from its web seed alone: "Folder downloaded", progress shows "peers 0 + web seed", summary says web seed', { timeout: 90_000 }, async () => {
    const dir = await scope.dir();
    await mkdir(path.join(dir, 'photos'));
    await writeFile(path.join(dir, 'photos', 'a.jpg'), randomBytes(300 * 1024));
    await writeFile(path.join(dir, 'photos', 'b.jpg'), randomBytes(300 * 1024));
    // No tracker at all: the requester goes to the web seed at once.
    const dead = `http://127.0.0.1:${await freePort()}/announce`;
    const seeder = await startSeeder(scope, dir, 'photos', dead, ['--max-upload-rate', '64K']);
    const r = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed']);
    await r.proc.waitFor(/^Progress: .* peers 0 \+ web seed$/m, 30_000);
    assert.equal(await exitWithin(r.proc, 60_000, 'requester'), 0);
    const out = r.proc.out();
    assert.match(out, /^Folder downloaded: photos, saved to: dl\/photos$/m);
    assert.match(out, /^Downloaded 600\.0 KiB in [\d.]+ s \([\d.]+ KiB\/s on average\) from 1 source \(1 web seed\)$/m);
    assert.doesNotMatch(out, /File downloaded/);
  });
});

test('Ctrl-C while downloading: exit 130, the verified pieces kept and said so', { timeout: 60_000 }, async () => {
  const dir = await scope.dir();
  const t = await startTracker(dir);
  scope.adopt(t.proc);
  await writeFile(path.join(dir, 'int.bin'), randomBytes(1024 * 1024));
  const seeder = await startSeeder(scope, dir, 'int.bin', t.announce, ['--no-web-seed', '--max-upload-rate', '64K']);
  const r = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl']);
  await r.proc.waitFor(/^Progress: [1-9]/m, 30_000);
  r.proc.kill('SIGINT');
  assert.equal(await exitWithin(r.proc, 15_000, 'requester'), 130);
  assert.match(r.proc.out(), /^\d+ of \d+ pieces kept in dl\/int\.bin\.part: run again to resume$/m);
  assert.equal(r.proc.err(), 'Error: interrupted; run again with the same torrent to resume\n');
});

test('a requester bound to 0.0.0.0 says where others reach it, not the wildcard', { timeout: 60_000 }, async () => {
  const dir = await scope.dir();
  const t = await startTracker(dir);
  scope.adopt(t.proc);
  await writeFile(path.join(dir, 'w.bin'), randomBytes(64 * 1024));
  const seeder = await startSeeder(scope, dir, 'w.bin', t.announce, ['--no-web-seed']);
  const r = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--host', '0.0.0.0']);
  const m = await r.proc.waitFor(new RegExp(`^Seeding w\\.bin on http://(\\S+):${r.port} \\(Ctrl-C to stop\\)$`, 'm'), 30_000);
  assert.equal(m[1], urlHost(publicAddress('0.0.0.0')));
  assert.notEqual(m[1], '0.0.0.0');
});

describe('--json: events for scripts', { concurrency: true }, () => {
  /** Every stdout line, parsed (a line that is not JSON fails the test). */
  const events = (out: string) => out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { event: string; [k: string]: unknown });

  test('a download: torrent, peer, every piece, progress, done, as JSON lines only', { timeout: 60_000 }, async () => {
    const dir = await scope.dir();
    const t = await startTracker(dir);
    scope.adopt(t.proc);
    await writeFile(path.join(dir, 'j.bin'), randomBytes(512 * 1024));
    const seeder = await startSeeder(scope, dir, 'j.bin', t.announce, ['--no-web-seed', '--max-upload-rate', '256K']);
    const r = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--json']);
    assert.equal(await exitWithin(r.proc, 40_000, 'requester'), 0, r.proc.err());
    const ev = events(r.proc.out());
    assert.deepEqual(ev[0], { ...ev[0], event: 'torrent', infoHash: seeder.infoHash, name: 'j.bin' });
    assert.ok(ev.some((e) => e.event === 'peer' && e.address === `127.0.0.1:${seeder.port}` && e.seed === true), r.proc.out());
    const pieces = ev.filter((e) => e.event === 'piece').map((e) => e.index as number);
    assert.deepEqual([...pieces].sort((a, b) => a - b), [...Array(pieces.length).keys()], 'each piece once');
    assert.ok(pieces.length >= 2, `${pieces.length} pieces`);
    const progress = ev.filter((e) => e.event === 'progress');
    assert.ok(progress.length > 0 && progress.every((p) => typeof p.done === 'number' && p.total === 512 * 1024), 'progress events');
    assert.ok(
      ev.some((e) => e.event === 'done' && e.path === 'dl/j.bin' && e.folder === false),
      `a done event for dl/j.bin (folder false): ${JSON.stringify(ev.filter((e) => e.event === 'done'))}`,
    );
    assert.equal(r.proc.err(), '');
  });

  test('a failure: an error event last, and the human line on stderr', { timeout: 30_000 }, async () => {
    const dir = await scope.dir();
    const r = await startRequester(scope, dir, 'missing.torrent', ['--json']);
    assert.equal(await exitWithin(r.proc, 15_000, 'requester'), 1);
    const ev = events(r.proc.out());
    assert.deepEqual(ev.map((e) => [e.event, e.message]), [['error', 'No such file: missing.torrent']]);
    assert.equal(r.proc.err(), 'Error: No such file: missing.torrent\n');
  });

  test('--json without a torrent: a usage error (it never prompts)', async () => {
    const dir = await scope.dir();
    const p = scope.spawn('requester', ['--json'], dir);
    assert.equal(await exitWithin(p, 15_000, 'requester'), 2);
    assert.match(p.err(), /^Error: --json needs the TORRENT argument/);
  });
});
