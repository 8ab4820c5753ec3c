/**
 * Web seeds (BEP 19) as the only source: the requester downloads from a plain static HTTP server
 * named in a torrent's url-list (no tracker answers), including a folder whose names hold spaces,
 * `%`, `#` and non-ASCII letters, and from a server that ignores `Range` and answers 200
 * (`python3 -m http.server`). Torrents made by mktorrent (another tool) and by us.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import net from 'node:net';
import { runCli, runProgram, freePort, tempDir, requireProgram, type Proc } from '../../support/procs.ts';
import { makeTorrent } from '../../../src/metainfo/create.ts';

const NAMES = ['plain.bin', 'with space.txt', '100% sure.dat', 'hash#tag.bin', 'Ünïcødé ñame.bin'];

/** A folder `share/` with nested files whose names need escaping in URLs. */
async function makeShare(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const add = async (rel: string, size: number) => {
    const data = randomBytes(size);
    await mkdir(path.dirname(path.join(root, 'share', rel)), { recursive: true });
    await writeFile(path.join(root, 'share', rel), data);
    files.set(rel, data);
  };
  for (const [i, n] of NAMES.entries()) await add(n, 20_000 + i * 7_001);
  await add('sub dir/ä#%.bin', 45_000);
  await add('sub dir/empty', 0);
  return files;
}

/** A static file server with Range support (a few lines of node:http). */
function staticServer(root: string): Promise<{ url: string; close(): void; ranges: () => number }> {
  let ranges = 0;
  const server = http.createServer(async (req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(root, rel);
    if (!file.startsWith(root + path.sep)) return void res.writeHead(403).end();
    let size: number;
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      return void res.writeHead(404).end();
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (m) {
      ranges++;
      const start = Number(m[1]);
      const end = Math.min(Number(m[2]), size - 1);
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1 });
      createReadStream(file, { start, end }).pipe(res);
    } else {
      res.writeHead(200, { 'Content-Length': size });
      createReadStream(file).pipe(res);
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/`, close: () => server.close(), ranges: () => ranges });
    }),
  );
}

async function deadTrackerUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}/announce`; // nothing listens there
}

async function download(dir: string, torrent: string, out: string): Promise<Proc> {
  const req = runCli('requester', [torrent, '--port', String(await freePort()), '--out', out, '--no-seed', '--wait', '20'], { cwd: dir });
  const code = await req.exited;
  assert.equal(code, 0, `requester exit\nstdout:\n${req.out()}\nstderr:\n${req.err()}`);
  return req;
}

async function assertTree(root: string, files: Map<string, Buffer>): Promise<void> {
  for (const [rel, data] of files) assert.ok((await readFile(path.join(root, rel))).equals(data), rel);
  const listed: string[] = [];
  const walk = async (d: string, prefix: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(path.join(d, e.name), prefix + e.name + '/');
      else listed.push(prefix + e.name);
    }
  };
  await walk(root, '');
  assert.deepEqual(listed.sort(), [...files.keys()].sort(), 'exactly the torrent files, nothing else');
}

test('multi-file torrent from mktorrent whose only source is a static HTTP server (names with spaces, %, #, non-ASCII)', async (t) => {
  if (!requireProgram(t, 'mktorrent', 'mktorrent')) return;
  const { dir, remove } = await tempDir();
  const server = await staticServer(dir);
  try {
    const files = await makeShare(dir);
    execFileSync('mktorrent', ['-l', '15', '-a', await deadTrackerUrl(), '-w', server.url, '-o', path.join(dir, 'share.torrent'), path.join(dir, 'share')], { stdio: 'ignore' });
    const req = await download(dir, 'share.torrent', 'dl');
    assert.match(req.out(), /Downloading share from web seed http:\/\/127\.0\.0\.1:\d+\//);
    await assertTree(path.join(dir, 'dl', 'share'), files);
    assert.ok(server.ranges() > 0, 'the requester asked with Range');
  } finally {
    server.close();
    await remove();
  }
});

test('a server that ignores Range and answers 200 (python3 -m http.server): single file and folder', async (t) => {
  if (!requireProgram(t, 'python3', 'python3')) return;
  const { dir, remove } = await tempDir();
  const port = await freePort();
  const py = runProgram('python3', ['python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1'], { cwd: dir });
  try {
    const files = await makeShare(dir);
    const single = randomBytes(300_000);
    await writeFile(path.join(dir, 'single.bin'), single);
    // Wait until the server answers.
    for (let i = 0; ; i++) {
      const ok = await new Promise<boolean>((r) => http.get(`http://127.0.0.1:${port}/`, (res) => (res.resume(), r(true))).on('error', () => r(false)));
      if (ok) break;
      if (i > 100) throw new Error(`python3 http.server did not start\n${py.err()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = `http://127.0.0.1:${port}/`;
    const announce = await deadTrackerUrl();
    await writeFile(path.join(dir, 'single.torrent'), await makeTorrent(path.join(dir, 'single.bin'), 'single.bin', { announce, pieceLength: 16384, urlList: [base] }));
    await writeFile(path.join(dir, 'share.torrent'), await makeTorrent(path.join(dir, 'share'), 'share', { announce, pieceLength: 16384, urlList: [base] }));

    await download(dir, 'single.torrent', 'dl1');
    assert.ok((await readFile(path.join(dir, 'dl1', 'single.bin'))).equals(single), 'dl1/single.bin from the web seed is byte-identical to the original');
    await download(dir, 'share.torrent', 'dl2');
    await assertTree(path.join(dir, 'dl2', 'share'), files);
  } finally {
    py.kill('SIGKILL');
    await py.exited;
    await remove();
  }
});
