/**
 * The peer's HTTP API over real loopback HTTP: whole file, ranges, pieces, bitfield, refusals,
 * path traversal, the upload counter and oversized requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawRequest, type Reply } from '../support/raw-request.ts';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { parseMetainfo, type Metainfo } from '../../src/metainfo/metainfo.ts';
import { PieceStore } from '../../src/storage/piece-store.ts';
import { storageFiles } from '../../src/storage/layout.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import { freePort, tempDir } from '../support/procs.ts';

// ---------------------------------------------------------------------------------------------
// helpers

let port = 0;

/** One request over a fresh connection; the path goes on the wire exactly as given. */
function request(p: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return rawRequest({ port, path: p, ...opts });
}

/** Like `request`, but a connection the server drops is an answer too. */
async function requestOrClosed(p: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply | { error: NodeJS.ErrnoException }> {
  try {
    return await request(p, opts);
  } catch (e) {
    return { error: e as NodeJS.ErrnoException };
  }
}

/** Write raw bytes on a TCP connection; resolve with the status code of the answer (0 if closed without one). */
function rawStatus(text: string): Promise<{ status: number; response: Buffer }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const response = Buffer.concat(chunks);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(response.toString('latin1'));
      resolve({ status: m ? Number(m[1]) : 0, response });
    };
    const timer = setTimeout(finish, 3000);
    sock.on('connect', () => sock.write(text, 'latin1'));
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      const head = all.indexOf('\r\n\r\n');
      if (head < 0) return;
      const len = /\r\ncontent-length: *(\d+)/i.exec(all.subarray(0, head).toString('latin1'));
      if (!len || all.length >= head + 4 + Number(len[1])) finish();
    });
    sock.on('end', finish);
    sock.on('close', finish);
    sock.on('error', (e) => (chunks.length ? finish() : reject(e)));
  });
}

function contentRange(r: Reply): string | undefined {
  const v = r.headers['content-range'];
  return Array.isArray(v) ? v[0] : v;
}

// ---------------------------------------------------------------------------------------------
// shared fixtures: a complete 100,000-byte torrent and a partial 40,000-byte one

const SIZE = 100_000;
const PIECE = 16_384;
let data: Buffer;
let meta: Metainfo;
let hash: string;
let partialData: Buffer;
let partialMeta: Metainfo;
let partialHash: string;
let node: PeerNode;
let stores: PieceStore[] = [];
let removeDir: () => Promise<void>;

test.before(async () => {
  const tmp = await tempDir('p2p-peer-http-');
  removeDir = tmp.remove;
  const announce = 'http://127.0.0.1:1/announce';

  data = randomBytes(SIZE);
  await writeFile(path.join(tmp.dir, 'data.bin'), data);
  meta = parseMetainfo(await makeTorrent(path.join(tmp.dir, 'data.bin'), 'data.bin', { announce, pieceLength: PIECE }));
  hash = meta.infoHashHex;
  const store = await PieceStore.openForReading(storageFiles(meta, tmp.dir));

  partialData = randomBytes(40_000); // 3 pieces; this peer holds 0 and 2
  await writeFile(path.join(tmp.dir, 'partial.bin'), partialData);
  partialMeta = parseMetainfo(await makeTorrent(path.join(tmp.dir, 'partial.bin'), 'partial.bin', { announce, pieceLength: PIECE }));
  partialHash = partialMeta.infoHashHex;
  const partialStore = await PieceStore.openForReading(storageFiles(partialMeta, tmp.dir));
  const have = new Bitfield(partialMeta.pieceCount);
  have.set(0);
  have.set(2);

  stores = [store, partialStore];
  node = new PeerNode();
  node.share({ meta, store, have: Bitfield.full(meta.pieceCount) });
  node.share({ meta: partialMeta, store: partialStore, have });
  port = await freePort();
  await node.listen(port, '127.0.0.1');
});

test.after(async () => {
  await node.close();
  await Promise.all(stores.map((s) => s.close()));
  await removeDir();
});

// ---------------------------------------------------------------------------------------------

test('fixtures: 7 pieces of 16 KiB, the last one short', () => {
  assert.equal(meta.length, SIZE);
  assert.equal(meta.pieceCount, 7);
  assert.equal(partialMeta.pieceCount, 3);
  assert.match(hash, /^[0-9a-f]{40}$/);
});

test('GET /file/<hash> is the whole file; HEAD gives the length and no body; Accept-Ranges: bytes', async () => {
  const r = await request(`/file/${hash}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], String(SIZE));
  assert.equal(r.headers['accept-ranges'], 'bytes');
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.ok(r.body.equals(data), 'body equals the file');

  const h = await request(`/file/${hash}`, { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-length'], String(SIZE));
  assert.equal(h.headers['accept-ranges'], 'bytes');
  assert.equal(h.body.length, 0);
});

test('Range on /file: 206 with Content-Range and the exact bytes', async () => {
  const cases: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 0],
    ['bytes=10-99', 10, 99],
    ['bytes=99990-', 99990, SIZE - 1],
    ['bytes=-5', SIZE - 5, SIZE - 1],
    ['bytes=99000-200000', 99000, SIZE - 1], // end past the size is clamped
    ['bytes=0-', 0, SIZE - 1],
    ['bytes=-200000', 0, SIZE - 1], // suffix longer than the file: all of it
    ['bytes=16384-32767', 16384, 32767],
  ];
  for (const [range, start, end] of cases) {
    const r = await request(`/file/${hash}`, { headers: { Range: range } });
    assert.equal(r.status, 206, range);
    assert.equal(contentRange(r), `bytes ${start}-${end}/${SIZE}`, range);
    assert.equal(r.headers['content-length'], String(end - start + 1), range);
    assert.ok(r.body.equals(data.subarray(start, end + 1)), `${range}: bytes`);
  }
  // HEAD with a Range: same headers, no body.
  const h = await request(`/file/${hash}`, { method: 'HEAD', headers: { Range: 'bytes=10-99' } });
  assert.equal(h.status, 206);
  assert.equal(contentRange(h), `bytes 10-99/${SIZE}`);
  assert.equal(h.body.length, 0);
});

test('Range refusals: past the end 416 with bytes */size, multiple ranges 416, reversed 400', async () => {
  for (const range of ['bytes=100000-100005', 'bytes=200000-300000', 'bytes=-0']) {
    const r = await request(`/file/${hash}`, { headers: { Range: range } });
    assert.equal(r.status, 416, range);
    assert.equal(contentRange(r), `bytes */${SIZE}`, range);
    assert.ok(r.body.length < 100, `${range}: no content`);
  }
  for (const range of ['bytes=0-1,5-9', 'bytes=0-0, 10-20']) {
    const r = await request(`/file/${hash}`, { headers: { Range: range } });
    assert.equal(r.status, 416, range);
  }
  for (const range of ['bytes=9-5', 'bytes=abc', 'bytes=1-x', 'bytes=5']) {
    const r = await request(`/file/${hash}`, { headers: { Range: range } });
    assert.equal(r.status, 400, range);
  }
});

test(
  'an open-ended range starting at or past the end (bytes=100000-) is 416, not 400',
  async () => {
    const f = await request(`/file/${hash}`, { headers: { Range: 'bytes=100000-' } });
    assert.equal(f.status, 416, '/file bytes=100000-');
    assert.equal(contentRange(f), `bytes */${SIZE}`);
    const f2 = await request(`/file/${hash}`, { headers: { Range: 'bytes=150000-' } });
    assert.equal(f2.status, 416, '/file bytes=150000-');
    const p = await request(`/piece/${hash}/6`, { headers: { Range: 'bytes=1696-' } });
    assert.equal(p.status, 416, '/piece/6 bytes=1696-');
    assert.equal(contentRange(p), 'bytes */1696');
  },
);

test('info_hash: upper-case hex works; 39 chars or non-hex is 400; an unknown hash is 404', async () => {
  const up = await request(`/file/${hash.toUpperCase()}`);
  assert.equal(up.status, 200);
  assert.ok(up.body.equals(data), 'the upper-case hash serves the whole file');
  for (const bad of [hash.slice(1), hash + '0', 'g'.repeat(40), 'xyz', hash.slice(0, 39) + 'Z']) {
    for (const route of [`/file/${bad}`, `/piece/${bad}/0`, `/bitfield/${bad}`]) {
      const r = await request(route);
      assert.equal(r.status, 400, route);
    }
  }
  const unknown = '0123456789abcdef'.repeat(3).slice(0, 40);
  for (const route of [`/file/${unknown}`, `/piece/${unknown}/0`, `/bitfield/${unknown}`]) {
    const r = await request(route);
    assert.equal(r.status, 404, route);
  }
});

test('GET /piece/<hash>/<i>: each piece is its slice, the last one short, Range inside a piece', async () => {
  for (let i = 0; i < meta.pieceCount; i++) {
    const r = await request(`/piece/${hash}/${i}`);
    assert.equal(r.status, 200, `piece ${i}`);
    const expected = data.subarray(i * PIECE, Math.min(SIZE, (i + 1) * PIECE));
    assert.equal(r.headers['content-length'], String(expected.length));
    assert.ok(r.body.equals(expected), `piece ${i} bytes`);
  }
  const last = await request(`/piece/${hash}/6`);
  assert.equal(last.body.length, SIZE - 6 * PIECE);
  assert.equal(last.body.length, 1696);

  const r = await request(`/piece/${hash}/2`, { headers: { Range: 'bytes=100-199' } });
  assert.equal(r.status, 206);
  assert.equal(contentRange(r), `bytes 100-199/${PIECE}`);
  assert.ok(r.body.equals(data.subarray(2 * PIECE + 100, 2 * PIECE + 200)), 'bytes 100-199 of piece 2');
  const tail = await request(`/piece/${hash}/6`, { headers: { Range: 'bytes=-10' } });
  assert.equal(tail.status, 206);
  assert.equal(contentRange(tail), 'bytes 1686-1695/1696');
  assert.ok(tail.body.equals(data.subarray(SIZE - 10)), 'the last 10 bytes of the file');
  const past = await request(`/piece/${hash}/6`, { headers: { Range: 'bytes=1696-1700' } });
  assert.equal(past.status, 416);
  assert.equal(contentRange(past), 'bytes */1696');
  const h = await request(`/piece/${hash}/0`, { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-length'], String(PIECE));
  assert.equal(h.body.length, 0);
});

test('bad piece indexes: pieceCount is 404; -1, 1.5, abc, 99999999999 and friends are 400/404, never 500', async () => {
  const end = await request(`/piece/${hash}/${meta.pieceCount}`);
  assert.equal(end.status, 404);
  for (const idx of ['-1', '1.5', 'abc', '99999999999', '9999999999', '1e3', '0x1', '%20', '%zz', '0%00', '7', '4294967296', ' 1']) {
    const r = await requestOrClosed(`/piece/${hash}/${idx.replace(/ /g, '%20')}`);
    assert.ok(!('error' in r), `/piece/${idx}: answered`);
    assert.ok(r.status === 400 || r.status === 404, `/piece/${idx}: got ${r.status}`);
    assert.ok(r.body.length < 200, `/piece/${idx}: no content`);
  }
});

test('partial torrent: held pieces served, missing piece 404, /file 404, /bitfield exact', async () => {
  const p0 = await request(`/piece/${partialHash}/0`);
  assert.equal(p0.status, 200);
  assert.ok(p0.body.equals(partialData.subarray(0, PIECE)), 'piece 0 of the partial torrent');
  const p2 = await request(`/piece/${partialHash}/2`);
  assert.equal(p2.status, 200);
  assert.ok(p2.body.equals(partialData.subarray(2 * PIECE)), 'piece 2 of the partial torrent');
  const p1 = await request(`/piece/${partialHash}/1`);
  assert.equal(p1.status, 404, 'a piece the bitfield lacks');
  const p1r = await request(`/piece/${partialHash}/1`, { headers: { Range: 'bytes=0-0' } });
  assert.equal(p1r.status, 404);
  const f = await request(`/file/${partialHash}`);
  assert.equal(f.status, 404);
  assert.ok(f.body.length < 200, `the 404 body is short: ${f.body.length} bytes`);
  const fh = await request(`/file/${partialHash}`, { method: 'HEAD' });
  assert.equal(fh.status, 404);

  const bf = await request(`/bitfield/${partialHash}`);
  assert.equal(bf.status, 200);
  assert.deepEqual([...bf.body], [0b1010_0000], 'pieces 0 and 2, spare bits zero');

  const full = await request(`/bitfield/${hash.toUpperCase()}`);
  assert.equal(full.status, 200);
  assert.equal(full.body.length, Math.ceil(meta.pieceCount / 8));
  assert.deepEqual([...full.body], [0b1111_1110], '7 pieces held, the spare bit zero');
});

test('path traversal never reaches a file outside the torrent', async () => {
  let passwd: Buffer | undefined;
  try {
    passwd = readFileSync('/etc/passwd');
  } catch {
    passwd = undefined;
  }
  const paths = [
    '/file/..%2F..%2Fetc%2Fpasswd',
    '/file/..%2f..%2f..%2f..%2fetc%2fpasswd',
    `/piece/${hash}/..%2F..`,
    `/piece/${hash}/..%2F..%2F..%2Fetc%2Fpasswd`,
    '/../../etc/passwd',
    '/file/../../etc/passwd',
    `/file/${hash}/../../x`,
    `/file/${hash}/..%2F..%2Fetc%2Fpasswd`,
    `/bitfield/..%2F..%2Fetc%2Fpasswd`,
    '/etc/passwd',
    '//etc/passwd',
    '/file/%2Fetc%2Fpasswd',
    '/file/%00',
    `/file/${hash}%00`,
    `/file/${hash}%2F..%2F..%2Fetc%2Fpasswd`,
  ];
  for (const p of paths) {
    const r = await request(p);
    assert.ok(r.status >= 400 && r.status < 500, `${p}: got ${r.status}`);
    assert.ok(r.body.length < 200, `${p}: no content`);
    assert.ok(!r.body.includes('root:'), `${p}: not /etc/passwd`);
    if (passwd) assert.ok(!r.body.equals(passwd), `${p}: not the passwd file`);
  }
  const raw = [
    'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /file/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
    `GET /piece/${hash}/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n`,
    'GET http://x/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET ../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /..\\..\\etc\\passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  ];
  for (const text of raw) {
    const { status, response } = await rawStatus(text);
    const line = text.split('\r\n')[0]!;
    assert.ok(status === 0 || (status >= 400 && status < 500), `${line}: got ${status}`);
    assert.ok(!response.includes('root:'), `${line}: not /etc/passwd`);
  }
  // Still serving.
  const ok = await request(`/piece/${hash}/0`);
  assert.equal(ok.status, 200);
});

test('the upload counter grows by exactly the bytes sent in a GET, not for HEAD or refusals', async () => {
  const c = node.counter;
  let before = c.uploaded;
  await request(`/file/${hash}`);
  assert.equal(c.uploaded - before, SIZE, 'whole file');

  before = c.uploaded;
  await request(`/file/${hash}`, { method: 'HEAD' });
  await request(`/piece/${hash}/0`, { method: 'HEAD' });
  await request(`/file/${hash}`, { method: 'HEAD', headers: { Range: 'bytes=0-99' } });
  assert.equal(c.uploaded - before, 0, 'HEAD sends nothing');

  before = c.uploaded;
  await request(`/file/${hash}`, { headers: { Range: 'bytes=10-99' } });
  assert.equal(c.uploaded - before, 90, 'a 90-byte range');

  before = c.uploaded;
  await request(`/piece/${hash}/6`);
  assert.equal(c.uploaded - before, 1696, 'the short last piece');

  before = c.uploaded;
  await request(`/piece/${hash}/3`, { headers: { Range: 'bytes=-5' } });
  assert.equal(c.uploaded - before, 5);

  before = c.uploaded;
  await request(`/file/${hash}`, { headers: { Range: 'bytes=100000-' } });
  await request(`/file/${hash}`, { headers: { Range: 'bytes=9-5' } });
  await request(`/piece/${partialHash}/1`);
  await request(`/file/${partialHash}`);
  await request(`/bitfield/${hash}`);
  assert.equal(c.uploaded - before, 0, 'refusals and the bitfield are not content');
});

test('a 20,000-char URL and a 20 KB header are refused (4xx/431 or closed); the server still answers', async () => {
  const longUrl = `/file/${'a'.repeat(20_000 - 6)}`;
  assert.equal(longUrl.length, 20_000);
  const a = await requestOrClosed(longUrl);
  if ('error' in a) assert.ok(['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(String(a.error.code)), String(a.error.code));
  else assert.ok(a.status >= 400 && a.status < 500, `long URL: got ${a.status}`);

  const b = await requestOrClosed(`/file/${hash}`, { headers: { 'X-Big': 'b'.repeat(20 * 1024) } });
  if ('error' in b) assert.ok(['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(String(b.error.code)), String(b.error.code));
  else {
    assert.ok(b.status >= 400 && b.status < 500, `big header: got ${b.status}`);
    assert.ok(!b.body.equals(data), 'no content for an oversized request');
  }

  // Many headers (above maxHeadersCount = 100) are not a crash either.
  const many: Record<string, string> = {};
  for (let i = 0; i < 150; i++) many[`X-H${i}`] = 'v';
  const m = await requestOrClosed(`/piece/${hash}/0`, { headers: many });
  if (!('error' in m)) assert.ok(m.status === 200 || (m.status >= 400 && m.status < 500), `many headers: ${m.status}`);

  const after = await request(`/piece/${hash}/1`);
  assert.equal(after.status, 200);
  assert.ok(after.body.equals(data.subarray(PIECE, 2 * PIECE)), 'piece 1 after the change');
});

test('unknown routes and methods: 404, never 500', async () => {
  // (`/` is the dashboard page: test/peer/dashboard/)
  for (const p of ['/nope', `/file`, `/piece/${hash}`, `/files/${hash}`]) {
    const r = await request(p);
    assert.equal(r.status, 404, p);
  }
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await request(`/file/${hash}`, { method });
    assert.ok(r.status >= 400 && r.status < 500, `${method}: ${r.status}`);
  }
});

/** Send `text` on one connection and collect the answers (status and body) until it closes or `count` came. */
function pipelined(text: string, count: number): Promise<{ answers: Array<{ status: number; body: Buffer }>; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(text, 'latin1'));
    let buf = Buffer.alloc(0);
    const answers: Array<{ status: number; body: Buffer }> = [];
    const done = (closed: boolean) => {
      sock.destroy();
      resolve({ answers, closed });
    };
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      for (;;) {
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const text = buf.toString('latin1', 0, head);
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
        if (buf.length < head + 4 + len) return;
        answers.push({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: buf.subarray(head + 4, head + 4 + len) });
        buf = buf.subarray(head + 4 + len);
        if (answers.length === count) return done(false);
      }
    });
    sock.on('close', () => done(true));
    sock.on('error', () => {});
  });
}

test('pipelined requests are answered one by one, in order, exact; a pipeline deeper than 32 closes the connection', async () => {
  const paths = [...Array.from({ length: meta.pieceCount }, (_, i) => `/piece/${hash}/${i}`), `/nothing`, `/file/${hash}`];
  const { answers } = await pipelined(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: t\r\n\r\n`).join(''), paths.length);
  assert.equal(answers.length, paths.length);
  for (let i = 0; i < meta.pieceCount; i++) {
    assert.equal(answers[i]!.status, 200);
    assert.ok(answers[i]!.body.equals(data.subarray(i * PIECE, Math.min(SIZE, (i + 1) * PIECE))), `piece ${i}`);
  }
  assert.equal(answers[meta.pieceCount]!.status, 404);
  assert.ok(answers[meta.pieceCount + 1]!.body.equals(data), 'the /file answer after the pieces is the whole file');
  const deep = await pipelined(`GET /file/${hash} HTTP/1.1\r\nHost: t\r\n\r\n`.repeat(60), 60);
  assert.ok(deep.closed && deep.answers.length <= 34, `${deep.answers.length} of 60 pipelined answers, closed: ${deep.closed}`);
  assert.equal((await request('/stats')).status, 200);
});
