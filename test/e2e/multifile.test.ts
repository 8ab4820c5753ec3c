/**
 * Multi-file torrents end to end:
 *  - a folder with awkward names shared by the seeder, downloaded by the requester, tree and bytes
 *    exact (info_hash equal to mktorrent's; also fetched from the web seed alone);
 *  - hand-made torrents with hostile paths: refused in one line, nothing written anywhere;
 *  - a BEP 47 pad file: served as zeros by an in-test peer, never created on disk;
 *  - a v2-only torrent: refused with a message that says v2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { requireProgram, startTracker } from '../support/procs.ts';
import { decode, encode, isDict } from '../../src/metainfo/bencode.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { Scope, exitWithin, listAll, sha1, startRequester, startSeeder } from '../support/bad-peers.ts';

const KiB = 1024;

/** Files of the shared folder: relative path -> bytes. */
function awkwardTree(): Map<string, Buffer> {
  return new Map<string, Buffer>([
    ['.hidden', Buffer.from('a dotfile\n')],
    ['a-b', randomBytes(40_000)], // beside the folder a/: sorts before a/c byte-wise
    ['a/c', randomBytes(70_001)],
    ['empty.txt', Buffer.alloc(0)],
    ['with space.txt', randomBytes(1234)],
    ['100% sure.txt', randomBytes(333)],
    ['hash#tag.txt', randomBytes(32 * KiB)], // exactly one piece long
    ['question?.txt', randomBytes(17)],
    ['ünïcødé 名前/ファイル.bin', randomBytes(50_000)],
    ['nested/deep/er/file.bin', randomBytes(150_000)],
    ['nested/deep/also empty', Buffer.alloc(0)],
    ['sub dir/x y.bin', randomBytes(5)],
  ]);
}

async function writeTree(root: string, files: Map<string, Buffer>): Promise<void> {
  for (const [rel, bytes] of files) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), bytes);
  }
}

async function assertSameTree(got: string, files: Map<string, Buffer>, who: string): Promise<void> {
  const want = new Set<string>();
  for (const rel of files.keys()) {
    want.add(rel);
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) want.add(parts.slice(0, i).join('/') + '/');
  }
  assert.deepEqual(await listAll(got), [...want].sort(), `${who}: same tree (every file, empty ones included)`);
  for (const [rel, bytes] of files) {
    const on = await readFile(path.join(got, rel));
    assert.equal(sha1(on), sha1(bytes), `${who}: ${rel} byte-exact`);
  }
}

test('multi-file: a folder with awkward names is downloaded exactly, tree included', { timeout: 120_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-multi-');
    const files = awkwardTree();
    await writeTree(path.join(dir, 'tree'), files);
    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'tree', tracker.announce, ['--piece-length', '32K', '--dir', 'seed']);
    const meta = parseMetainfo(await readFile(seeder.torrent));
    assert.equal(meta.multiFile, true);
    assert.equal(meta.files.length, files.size, 'every file listed, empty files and the dotfile included');

    const req = await startRequester(scope, dir, seeder.torrent, ['--out', 'dl', '--no-seed', '--wait', '30']);
    assert.equal(await exitWithin(req.proc, 60_000, 'requester'), 0, `requester\nstdout:\n${req.proc.out()}\nstderr:\n${req.proc.err()}`);
    assert.match(req.proc.out(), /^Folder downloaded: tree, saved to: dl\/tree$/m);
    assert.deepEqual(await listAll(path.join(dir, 'dl')), ['tree/', ...(await listAll(path.join(dir, 'dl', 'tree'))).map((e) => `tree/${e}`)], 'only tree/ in dl (no .part, no .state)');
    await assertSameTree(path.join(dir, 'dl', 'tree'), files, 'requester');

    await t.test('info_hash equals mktorrent\'s (-l 15 = 32 KiB pieces)', async (t2) => {
      if (!requireProgram(t2, 'mktorrent', 'mktorrent')) return;
      execFileSync('mktorrent', ['-l', '15', '-a', tracker.announce, '-o', 'mk.torrent', 'tree'], { cwd: dir, stdio: 'pipe' });
      const mk = parseMetainfo(await readFile(path.join(dir, 'mk.torrent')));
      assert.deepEqual(
        mk.files.map((f) => f.path.join('/')),
        meta.files.map((f) => f.path.join('/')),
        'same file order',
      );
      assert.equal(meta.infoHashHex, mk.infoHashHex, 'same info_hash as mktorrent');
    });

    await t.test('from the web seed alone (names escaped in URLs)', async (t2) => {
      if (meta.urlList.length === 0) {
        t2.skip('the seeder wrote no url-list');
        return;
      }
      // Same info, a tracker that is down: the url-list is the only source.
      const top = decode(await readFile(seeder.torrent));
      assert.ok(isDict(top), 'the seeder torrent decodes to a dict');
      const deadTracker = 'http://127.0.0.1:9/announce';
      const bytes = encode({ ...top, announce: deadTracker });
      const copy = parseMetainfo(bytes);
      assert.equal(copy.infoHashHex, meta.infoHashHex, 'same info_hash');
      await writeFile(path.join(dir, 'ws.torrent'), bytes);
      const ws = await startRequester(scope, dir, 'ws.torrent', ['--out', 'ws', '--no-seed', '--wait', '20']);
      assert.equal(await exitWithin(ws.proc, 40_000, 'requester'), 0, `requester\nstdout:\n${ws.proc.out()}\nstderr:\n${ws.proc.err()}`);
      assert.match(ws.proc.out(), /from web seed/);
      await assertSameTree(path.join(dir, 'ws', 'tree'), files, 'web seed requester');
    });
  } finally {
    await scope.dispose();
  }
});

/** A hand-made multi-file torrent; pieces are garbage but their count fits the length. */
function handMade(files: Array<{ path: Array<string | Buffer>; length: number; attr?: string }>, name: string | Buffer = 'evil', pieceLength = 16 * KiB): Buffer {
  const total = files.reduce((s, f) => s + f.length, 0);
  const count = Math.max(1, Math.ceil(total / pieceLength));
  return encode({
    announce: 'http://127.0.0.1:9/announce',
    info: {
      files: files.map((f) => ({ length: f.length, path: f.path, ...(f.attr ? { attr: f.attr } : {}) })),
      name,
      'piece length': pieceLength,
      pieces: randomBytes(20 * count),
    },
  });
}

test('multi-file: hostile paths are refused in one line; nothing is created anywhere', { timeout: 120_000 }, async (t) => {
  const cases: Array<{ what: string; torrent: Buffer; says: RegExp }> = [
    { what: 'a ".." element', torrent: handMade([{ path: ['..', 'escaped.txt'], length: 10 }]), says: /path.*"\.\."/ },
    { what: 'a deeper ".." element', torrent: handMade([{ path: ['ok', '..', '..', 'escaped.txt'], length: 10 }]), says: /path.*"\.\."/ },
    { what: 'a "." element', torrent: handMade([{ path: ['.', 'dot.txt'], length: 10 }]), says: /path.*"\."/ },
    { what: 'an empty element', torrent: handMade([{ path: ['', 'empty.txt'], length: 10 }]), says: /path.*empty/ },
    { what: 'an element holding "/"', torrent: handMade([{ path: ['sub/../../escaped.txt'], length: 10 }]), says: /path.*"\/"/ },
    { what: 'an element holding "\\"', torrent: handMade([{ path: ['..\\escaped.txt'], length: 10 }]), says: /path.*\\/ },
    { what: 'an element holding NUL', torrent: handMade([{ path: ['nul\0.txt'], length: 10 }]), says: /path.*NUL/ },
    { what: 'an absolute-looking "/etc"', torrent: handMade([{ path: ['/etc', 'passwd'], length: 10 }]), says: /path.*\/etc/ },
    { what: 'a single absolute element', torrent: handMade([{ path: ['/tmp/escaped.txt'], length: 10 }]), says: /path.*\/tmp/ },
    { what: 'an empty path list', torrent: handMade([{ path: [], length: 10 }]), says: /path/ },
    { what: 'a duplicate path', torrent: handMade([{ path: ['same.txt'], length: 10 }, { path: ['same.txt'], length: 10 }]), says: /path.*same\.txt.*twice/ },
    { what: 'a file that is also a folder', torrent: handMade([{ path: ['a'], length: 10 }, { path: ['a', 'b'], length: 10 }]), says: /"a".*folder/ },
    { what: 'a folder that is also a file (folder first)', torrent: handMade([{ path: ['a', 'b'], length: 10 }, { path: ['a'], length: 10 }]), says: /"a".*folder/ },
    { what: 'a name of ".."', torrent: handMade([{ path: ['x.txt'], length: 10 }], '..'), says: /name.*"\.\."/ },
    { what: 'a name holding "/"', torrent: handMade([{ path: ['x.txt'], length: 10 }], '../escaped'), says: /name.*"\/"/ },
  ];
  const scope = new Scope();
  try {
    const root = await scope.dir('p2p-hostile-');
    const work = path.join(root, 'work');
    await mkdir(work);
    for (const [i, c] of cases.entries()) await writeFile(path.join(work, `case${i}.torrent`), c.torrent);
    const before = await listAll(root);

    // Four at a time: each is one short-lived process.
    const results: Array<{ code: number | null; out: string; err: string }> = [];
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4).map(async (_, k) => {
        const r = await startRequester(scope, work, `case${i + k}.torrent`, ['--out', 'out', '--wait', '2', '--no-seed']);
        const code = await exitWithin(r.proc, 20_000, `requester on case ${i + k}`);
        return { code, out: r.proc.out(), err: r.proc.err() };
      });
      results.push(...(await Promise.all(batch)));
    }

    for (const [i, c] of cases.entries()) {
      const r = results[i]!;
      const ctx = `${c.what}\nstdout:\n${r.out}\nstderr:\n${r.err}`;
      assert.notEqual(r.code, 0, `non-zero exit: ${ctx}`);
      assert.notEqual(r.code, null, `exits with a status: ${ctx}`);
      assert.equal(r.err.trim().split('\n').length, 1, `one line on stderr: ${ctx}`);
      assert.match(r.err, c.says, `mentions the problem: ${ctx}`);
      assert.doesNotMatch(r.err, /^\s+at /m, `no stack trace: ${ctx}`);
      t.diagnostic(`${c.what}: ${r.err.trim()}`);
    }
    const afterList = await listAll(root);
    assert.deepEqual(
      afterList.filter((e) => !e.startsWith('work/out/')),
      before,
      'nothing created outside the --out folder (nor anywhere else in the temp dir)',
    );
    assert.deepEqual(afterList.filter((e) => e.startsWith('work/out/')), [], 'nothing created inside --out either');
  } finally {
    await scope.dispose();
  }
});

test('multi-file: a BEP 47 pad file is served as zeros and never created', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-pad-');
    const pieceLength = 16 * KiB;
    const a = randomBytes(40_000); // 2 pieces + 7232 bytes
    const padLength = 3 * pieceLength - a.length;
    const b = randomBytes(30_000);
    await mkdir(path.join(dir, 'src'));
    await writeFile(path.join(dir, 'src', 'A.bin'), a);
    await writeFile(path.join(dir, 'src', 'B.bin'), b);
    const stream = Buffer.concat([a, Buffer.alloc(padLength), b]);
    const hashes: Buffer[] = [];
    for (let at = 0; at < stream.length; at += pieceLength) hashes.push(createHash('sha1').update(stream.subarray(at, at + pieceLength)).digest());

    const tracker = await startTracker(dir, ['--interval', '1']);
    scope.adopt(tracker.proc);
    const torrent = encode({
      announce: tracker.announce,
      info: {
        files: [
          { length: a.length, path: ['A.bin'] },
          { attr: 'p', length: padLength, path: ['.pad', String(padLength)] },
          { length: b.length, path: ['B.bin'] },
        ],
        name: 'padded',
        'piece length': pieceLength,
        pieces: Buffer.concat(hashes),
      },
    });
    await writeFile(path.join(dir, 'padded.torrent'), torrent);
    const meta = parseMetainfo(torrent);
    assert.deepEqual(meta.files.map((f) => f.pad), [false, true, false]);

    const peer = await scope.badPeer({
      infoHashHex: meta.infoHashHex,
      pieceLength,
      parts: [
        { path: path.join(dir, 'src', 'A.bin'), length: a.length },
        { path: null, length: padLength },
        { path: path.join(dir, 'src', 'B.bin'), length: b.length },
      ],
      mode: 'honest',
    });
    await peer.register(tracker.announce, meta.infoHash);

    const req = await startRequester(scope, dir, 'padded.torrent', ['--out', 'dl', '--no-seed', '--wait', '20']);
    assert.equal(await exitWithin(req.proc, 40_000, 'requester'), 0, `requester\nstdout:\n${req.proc.out()}\nstderr:\n${req.proc.err()}`);
    assert.ok(peer.pieceRequests.length >= meta.pieceCount, 'the in-test peer served the pieces');
    assert.deepEqual(await listAll(path.join(dir, 'dl')), ['padded/', 'padded/A.bin', 'padded/B.bin'], 'no .pad file or folder');
    assert.ok((await readFile(path.join(dir, 'dl', 'padded', 'A.bin'))).equals(a), 'A exact');
    assert.ok((await readFile(path.join(dir, 'dl', 'padded', 'B.bin'))).equals(b), 'B exact');
  } finally {
    await scope.dispose();
  }
});

test('multi-file: a v2-only torrent is refused with a message that says v2', { timeout: 30_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-v2-');
    const torrent = encode({
      announce: 'http://127.0.0.1:9/announce',
      info: {
        'file tree': { 'f.txt': { '': { length: 10, 'pieces root': randomBytes(32) } } },
        'meta version': 2,
        name: 'v2only',
        'piece length': 16 * KiB,
      },
    });
    await writeFile(path.join(dir, 'v2.torrent'), torrent);
    const before = await listAll(dir);
    const req = await startRequester(scope, dir, 'v2.torrent', ['--out', 'out', '--no-seed', '--wait', '2']);
    const code = await exitWithin(req.proc, 20_000, 'requester');
    const err = req.proc.err();
    assert.notEqual(code, 0, `non-zero exit\nstderr:\n${err}`);
    assert.notEqual(code, null);
    assert.match(err, /v2/i, 'mentions v2');
    assert.doesNotMatch(err, /^\s+at /m, 'no stack trace');
    assert.deepEqual(await listAll(dir), before, 'nothing created');
  } finally {
    await scope.dispose();
  }
});
