/**
 * `--whitelist` / `--blacklist`: the list files' format, and a real tracker process that serves
 * only listed torrents, re-reads its lists on SIGHUP without dropping swarms, and keeps its lists
 * when an edit is bad.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseTorrentList, TorrentLists } from '../../src/tracker/torrent-list.ts';
import { rawRequest } from '../support/raw-request.ts';
import { announceTarget, asDict, compactPorts } from '../support/tracker-raw-http.ts';
import { runCli, startTracker, TestScope } from '../support/procs.ts';

const scope = new TestScope('p2p-lists-');
after(() => scope.cleanup());

test('list files: hex hashes (either case), comments, blank lines, text after the hash; anything else is an error with its line', () => {
  const a = 'ab'.repeat(20);
  const b = 'CD'.repeat(20);
  const set = parseTorrentList(`# private torrents\n\n${a}\n  ${b} ubuntu.iso\r\n`, 'w.txt');
  assert.deepEqual([...set].sort(), [a, b.toLowerCase()]);
  assert.throws(() => parseTorrentList(`${a}\nnot-a-hash\n`, 'w.txt'), /w\.txt:2: not a 40-hex-digit info_hash/);
  assert.throws(() => parseTorrentList(`${a}ff\n`, 'w.txt'), /w\.txt:1/);
  assert.throws(() => parseTorrentList('ab'.repeat(19) + '\n', 'w.txt'), /w\.txt:1/);
});

test('whitelist and blacklist together: listed and not blacklisted is served', async () => {
  const dir = await scope.dir();
  const [x, y, z] = [randomBytes(20), randomBytes(20), randomBytes(20)];
  await writeFile(path.join(dir, 'w'), `${x.toString('hex')}\n${y.toString('hex')}\n`);
  await writeFile(path.join(dir, 'b'), `${y.toString('hex')}\n`);
  const lists = new TorrentLists(path.join(dir, 'w'), path.join(dir, 'b'));
  assert.deepEqual(await lists.load(), { whitelisted: 2, blacklisted: 1 });
  assert.deepEqual([x, y, z].map((h) => lists.allows(h)), [true, false, false]);
  const open = new TorrentLists(undefined, undefined);
  assert.equal(open.active, false);
  assert.equal(open.allows(z), true);
});

async function announce(port: number, infoHash: Buffer, peerPort: number) {
  return asDict((await rawRequest({ port, path: announceTarget({ infoHash, port: peerPort, left: 1 }) })).body);
}

test('a whitelisted tracker process: unlisted torrents refused (announce) and left out (scrape); SIGHUP re-reads without dropping swarms; a bad edit keeps the old lists', async () => {
  const dir = await scope.dir();
  const [listed, later, never] = [randomBytes(20), randomBytes(20), randomBytes(20)];
  const list = path.join(dir, 'whitelist.txt');
  await writeFile(list, `${listed.toString('hex')}\n`);
  const t = await startTracker(dir, ['--whitelist', list]);
  scope.track(t.proc);

  assert.equal((await announce(t.port, never, 7001))['failure reason']?.toString(), 'torrent not registered');
  assert.equal((await announce(t.port, listed, 7002))['failure reason'], undefined);
  const scrape = asDict((await rawRequest({ port: t.port, path: `/scrape?info_hash=${escape(listed)}&info_hash=${escape(never)}` })).body);
  assert.deepEqual(Object.keys(scrape['files'] as object), [listed.toString('latin1')]);

  await writeFile(list, `${listed.toString('hex')}\n${later.toString('hex')}\n`);
  t.proc.kill('SIGHUP');
  await t.proc.waitFor(/Torrent lists re-read: 2 whitelisted/);
  assert.equal((await announce(t.port, later, 7003))['failure reason'], undefined);
  // The swarm from before the reload is still there: the new peer gets the old one.
  assert.deepEqual(compactPorts(await announce(t.port, listed, 7004)), [7002]);

  await writeFile(list, `${listed.toString('hex')}\nnonsense\n`);
  t.proc.kill('SIGHUP');
  await t.proc.waitFor(/torrent lists not re-read, the old ones stay: .*:2: not a 40-hex-digit/);
  assert.equal((await announce(t.port, later, 7005))['failure reason'], undefined, 'the last good lists are in force');
  assert.equal((await announce(t.port, never, 7006))['failure reason']?.toString(), 'torrent not registered');
});

test('a blacklisted torrent is refused; an unreadable list at start is a one-line error and exit 1', async () => {
  const dir = await scope.dir();
  const banned = randomBytes(20);
  await writeFile(path.join(dir, 'b'), `${banned.toString('hex')}\n`);
  const t = await startTracker(dir, ['--blacklist', path.join(dir, 'b')]);
  scope.track(t.proc);
  assert.equal((await announce(t.port, banned, 7001))['failure reason']?.toString(), 'torrent not registered');
  assert.equal((await announce(t.port, randomBytes(20), 7002))['failure reason'], undefined);

  const bad = scope.track(runCli('tracker', ['--port', '1', '--whitelist', path.join(dir, 'missing.txt')], { cwd: dir }));
  assert.equal(await bad.exited, 1);
  assert.match(bad.err(), /^Error: .*missing\.txt.*\n$/);
  assert.equal(bad.out(), '');
});

function escape(b: Buffer): string {
  return [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');
}
