/**
 * Many torrents per peer process (issue #18), with the real programs:
 *  - one seeder shares three torrents (two files and a folder) on one port: one `* Running on`;
 *  - one requester downloads two of them at once (a .torrent and a magnet link) from it, exact bytes;
 *  - with --json, every line on stdout is a JSON event;
 *  - a torrent nobody seeds fails with its name while the other one downloads; exit 1;
 *  - a requester run on a complete download verifies and seeds it: another requester gets its
 *    pieces from it once the seeder is gone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { freePort, startTracker, type Proc } from '../support/procs.ts';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { Scope, exitWithin } from '../support/bad-peers.ts';

const scope = new Scope();
let dir: string;
let announce: string;
let seeder: { proc: Proc; port: number };
const data = { a: randomBytes(1_500_000), b: randomBytes(700_000), one: randomBytes(400_000), two: randomBytes(90_000) };

const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;

before(async () => {
  dir = await scope.dir('p2p-multi-');
  const tracker = await startTracker(dir);
  scope.adopt(tracker.proc);
  announce = tracker.announce;
  await writeFile(path.join(dir, 'a.bin'), data.a);
  await writeFile(path.join(dir, 'b.bin'), data.b);
  await mkdir(path.join(dir, 'photos'));
  await writeFile(path.join(dir, 'photos', 'one.jpg'), data.one);
  await writeFile(path.join(dir, 'photos', 'two.jpg'), data.two);
  const port = await freePort();
  const proc = scope.spawn('seeder', ['a.bin', 'photos', 'b.bin', '--port', String(port), '--tracker', announce], dir);
  await proc.waitFor(new RegExp(`^\\* Running on http://127\\.0\\.0\\.1:${port}$`, 'm'), 30_000);
  seeder = { proc, port };
});

after(() => scope.dispose());

/** Start a requester on its own port with `args` (torrents first). */
async function requester(args: string[]): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  return { proc: scope.spawn('requester', [...args, '--port', String(port)], dir), port };
}

test('one seeder process shares three torrents on one port: each one\'s lines, one Running line', async () => {
  const out = seeder.proc.out();
  assert.equal(count(out, /^\* Running on /), 1, out);
  assert.equal(count(out, /^Info hash: [0-9a-f]{40}$/), 3, out);
  assert.equal(count(out, /^Magnet link: magnet:\?xt=urn:btih:/), 3, out);
  assert.equal(count(out, /^\.torrent file copied to requester folder$/), 3, out);
  for (const name of ['a.bin', 'photos', 'b.bin']) {
    assert.match(out, new RegExp(`^\\.torrent file created: ${name.replace('.', '\\.')}\\.torrent$`, 'm'));
    assert.ok((await readFile(path.join(dir, 'peer_6882', `${name}.torrent`))).length > 0, `peer_6882/${name}.torrent is not empty`);
  }
  assert.equal(count(out, /^Successfully registered with tracker\.$/), 3, out);
});

test('one requester process downloads a .torrent and a magnet link at once from it: exact bytes', async () => {
  const magnet = /^Magnet link: (magnet:\S*dn=photos\S*)$/m.exec(seeder.proc.out())![1]!;
  const r = await requester(['peer_6882/a.bin.torrent', magnet, '--out', 'dl', '--no-seed', '--wait', '20']);
  assert.equal(await exitWithin(r.proc, 60_000, 'requester'), 0, r.proc.out() + r.proc.err());
  assert.ok((await readFile(path.join(dir, 'dl', 'a.bin'))).equals(data.a), 'dl/a.bin is byte-identical to the seeded a.bin');
  assert.ok((await readFile(path.join(dir, 'dl', 'photos', 'one.jpg'))).equals(data.one), 'dl/photos/one.jpg is byte-identical to the seeded one.jpg');
  assert.ok((await readFile(path.join(dir, 'dl', 'photos', 'two.jpg'))).equals(data.two), 'dl/photos/two.jpg is byte-identical to the seeded two.jpg');
  assert.equal(count(r.proc.out(), /^Retrieved info_hash: [0-9a-f]{40}$/), 2);
  assert.equal(count(r.proc.out(), new RegExp(`^Pieces received: \\d+ from 127\\.0\\.0\\.1:${seeder.port}$`)), 2, r.proc.out());
});

test('--json with two torrents: every line of stdout is one JSON event (progress as events, no bar)', async () => {
  // A seeder capped at 512 KiB/s: the 1.6 MB take ~3 s, long enough for progress (every 0.5 s).
  const slowDir = path.join(dir, 'slow');
  await mkdir(slowDir);
  await writeFile(path.join(slowDir, 'c.bin'), randomBytes(1_000_000));
  await writeFile(path.join(slowDir, 'd.bin'), randomBytes(600_000));
  const port = await freePort();
  const slow = scope.spawn('seeder', ['c.bin', 'd.bin', '--port', String(port), '--tracker', announce, '--max-upload-rate', '512K'], slowDir);
  await slow.waitFor(/^\* Running on /m, 30_000);
  const r = await requester(['slow/peer_6882/c.bin.torrent', 'slow/peer_6882/d.bin.torrent', '--out', 'dl-json', '--no-seed', '--json']);
  assert.equal(await exitWithin(r.proc, 60_000, 'requester'), 0, r.proc.out() + r.proc.err());
  const lines = r.proc.out().split('\n').filter((l) => l !== '');
  const events = lines.map((l) => (JSON.parse(l) as { event: string }).event);
  assert.equal(events.filter((e) => e === 'torrent').length, 2);
  assert.equal(events.filter((e) => e === 'done').length, 2);
  assert.ok(events.includes('progress'), events.join(' '));
  assert.ok(
    (await readFile(path.join(dir, 'dl-json', 'd.bin'))).equals(await readFile(path.join(slowDir, 'd.bin'))),
    'dl-json/d.bin is byte-identical to the seeded d.bin',
  );
  slow.child.kill('SIGTERM');
});

test('a torrent nobody seeds fails with its name, the other one downloads; exit status 1', async () => {
  await writeFile(path.join(dir, 'ghost.bin'), randomBytes(50_000));
  await writeFile(path.join(dir, 'ghost.bin.torrent'), await makeTorrent(path.join(dir, 'ghost.bin'), 'ghost.bin', { announce }));
  const r = await requester(['ghost.bin.torrent', 'peer_6882/b.bin.torrent', '--out', 'dl-ghost', '--no-seed', '--wait', '3']);
  assert.equal(await exitWithin(r.proc, 60_000, 'requester'), 1, r.proc.out() + r.proc.err());
  assert.ok((await readFile(path.join(dir, 'dl-ghost', 'b.bin'))).equals(data.b), 'dl-ghost/b.bin is downloaded beside the ghost torrent that fails');
  assert.match(r.proc.err(), /^Error: ghost\.bin: /m);
  assert.match(r.proc.err(), /^1 of 2 torrents failed$/m);
});

test('a requester run on a complete download verifies and seeds it; another requester gets its pieces from it', async () => {
  const first = await requester(['peer_6882/a.bin.torrent', '--out', 'dl-again', '--no-seed', '--wait', '20']);
  assert.equal(await exitWithin(first.proc, 60_000, 'requester'), 0, first.proc.err());
  const again = await requester(['peer_6882/a.bin.torrent', '--out', 'dl-again', '--wait', '20']);
  await again.proc.waitFor(/^File already complete: a\.bin, verified at: dl-again\/a\.bin$/m, 30_000);
  await again.proc.waitFor(new RegExp(`^Seeding a\\.bin on http://127\\.0\\.0\\.1:${again.port} \\(Ctrl-C to stop\\)$`, 'm'), 30_000);
  await again.proc.waitFor(/^Successfully registered with tracker\.$/m, 30_000);
  // The seeder leaves (telling the tracker): the re-seeding requester is the only source left.
  seeder.proc.kill('SIGTERM');
  assert.equal(await exitWithin(seeder.proc, 20_000, 'seeder'), 0);
  const third = await requester(['peer_6882/a.bin.torrent', '--out', 'dl-third', '--no-seed', '--wait', '20']);
  assert.equal(await exitWithin(third.proc, 60_000, 'requester'), 0, third.proc.out() + third.proc.err());
  assert.ok((await readFile(path.join(dir, 'dl-third', 'a.bin'))).equals(data.a), 'dl-third/a.bin is byte-identical to the seeded a.bin');
  assert.match(third.proc.out(), new RegExp(`^Pieces received: \\d+ from 127\\.0\\.0\\.1:${again.port}$`, 'm'));
  again.proc.kill('SIGTERM');
  assert.equal(await exitWithin(again.proc, 20_000, 'requester'), 0, again.proc.err());
});
