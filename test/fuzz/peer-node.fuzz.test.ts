/**
 * Fuzzing a PeerNode over real loopback sockets: sharing a single-file and a multi-file torrent
 * under 300 random HTTP requests (traversal in every spelling, NUL, long URLs, random Range
 * headers: never a 5xx, never a byte that is not the torrent's at the right offset) and 300 random
 * wire sessions (a valid handshake, then random and hostile messages): the node stays up, a normal
 * wire client still gets correct blocks, RSS growth stays bounded.
 *
 * Cases come from fast-check with a new seed each run (printed on failure; `FUZZ_SEED=<n>` replays
 * it). Only 127.0.0.1 is used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import { percentEncode } from '../../src/tracker/protocol/query.ts';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { parseMetainfo, pieceSize, type Metainfo } from '../../src/metainfo/metainfo.ts';
import { PieceStore } from '../../src/storage/piece-store.ts';
import { storageFiles } from '../../src/storage/layout.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import { BLOCK_SIZE, decodeHandshake, encode as encodeMessage, encodeHandshake, HANDSHAKE_LENGTH, MessageParser, type Message } from '../../src/peer/wire/messages.ts';
import { tempDir } from '../support/procs.ts';
import { SEED, anyBytes } from '../support/fuzz.ts';
import { cases, pool, report, rawHttp, serialise, showCase, countingErrors, type RawReply, type HttpCase } from '../support/net-fuzz.ts';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Shared {
  meta: Metainfo;
  data: Buffer;
  store: PieceStore;
  /** Byte offsets a served body may start from (file starts and piece starts). */
  bases: number[];
}

const SENTINEL = Buffer.from(`SENTINEL-${randomBytes(16).toString('hex')}-never-served`);

async function makeNode(): Promise<{ node: PeerNode; torrents: Shared[]; dir: string; remove(): Promise<void> }> {
  const { dir, remove } = await tempDir('fuzz-net-');
  // Files nobody may ever read through the node: next to the data and one folder up.
  await writeFile(path.join(dir, 'secret.txt'), SENTINEL);
  await mkdir(path.join(dir, 'seed'));
  await writeFile(path.join(dir, 'seed', 'secret.txt'), SENTINEL);
  const root = path.join(dir, 'seed');

  // Single file: 16 pieces of 64 KiB and a short one.
  const single = randomBytes(16 * 65536 + 20_000);
  await writeFile(path.join(root, 'data.bin'), single);
  // Folder: three files across piece boundaries (pieces of 32 KiB).
  const a = randomBytes(50_000);
  const b = randomBytes(70_001);
  const c = randomBytes(3);
  await mkdir(path.join(root, 'multi', 'sub'), { recursive: true });
  await writeFile(path.join(root, 'multi', 'a.bin'), a);
  await writeFile(path.join(root, 'multi', 'sub', 'b.bin'), b);
  await writeFile(path.join(root, 'multi', 'z.txt'), c);

  const node = new PeerNode();
  const torrents: Shared[] = [];
  for (const [name, pieceLength, data] of [
    ['data.bin', 65536, single],
    ['multi', 32768, Buffer.concat([a, b, c])],
  ] as const) {
    const meta = parseMetainfo(await makeTorrent(path.join(root, name), name, { announce: 'http://127.0.0.1:1/announce', pieceLength }));
    assert.equal(meta.length, data.length);
    const store = await PieceStore.openForReading(storageFiles(meta, root));
    node.share({ meta, store, have: Bitfield.full(meta.pieceCount) });
    const bases = new Set<number>();
    for (const f of meta.files) bases.add(f.offset);
    for (let i = 0; i < meta.pieceCount; i++) bases.add(i * meta.pieceLength);
    torrents.push({ meta, data, store, bases: [...bases] });
  }
  await node.listen(0, '127.0.0.1');
  return {
    node,
    torrents,
    dir,
    async remove() {
      await node.close();
      for (const t of torrents) await t.store.close();
      await remove();
    },
  };
}

/** The full bitfield bytes of a torrent (what /bitfield answers for a seeder). */
const fullBits = (m: Metainfo) => Buffer.from(Bitfield.full(m.pieceCount).bytes);

function peerHttpCases(torrents: Shared[]): fc.Arbitrary<HttpCase> {
  const hashes = torrents.map((t) => t.meta.infoHashHex);
  const segment = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...hashes, ...hashes.map((h) => h.toUpperCase()), ...hashes.map((h) => '%' + h.charCodeAt(0).toString(16) + h.slice(1))) },
    { weight: 3, arbitrary: fc.constantFrom('data.bin', 'multi', 'a.bin', 'sub', 'b.bin', 'z.txt', 'secret.txt', '0', '1', '16', '17', '5', '99999999999', '-1', '1e1', '0x1', '00') },
    { weight: 4, arbitrary: fc.constantFrom('..', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '...', '.', '%2f', '%2F', '..%2f', '..%2fsecret.txt', '..%2f..%2fsecret.txt', '%5c', '..%5c..%5csecret.txt', '%00', '\x00', 'a%00b', '%', '%zz', '%c0%ae%c0%ae', '%252e%252e', '~', 'etc', 'passwd', '%2fetc%2fpasswd', '', '\\..\\') },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(300), 'x'.repeat(5000), 'x'.repeat(20000)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map((s) => percentEncode(Buffer.from(s, 'utf8'))) },
  );
  const route = fc.oneof(
    fc.constantFrom('file', 'piece', 'webseed', 'bitfield', 'stats', 'FILE', 'file%2f', '%66ile', ''),
    segment,
  );
  const rangeHeader = fc.oneof(
    fc.tuple(fc.option(fc.integer({ min: 0, max: 2_000_000 })), fc.option(fc.integer({ min: 0, max: 2_000_000 }))).map(([x, y]) => `bytes=${x ?? ''}-${y ?? ''}`),
    fc.constantFrom('bytes=0-0', 'bytes=-1', 'bytes=0-', 'bytes=1-0', 'bytes=0-1,2-3', 'bytes=99999999999999999-', 'bytes=-0', 'bytes=abc', 'items=0-1', 'bytes=--1', 'bytes= 5 - 9', 'bytes=9007199254740993-9007199254740994'),
    fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n\x00]/g, '')),
  );
  // Requests the API serves (valid routes, pieces and file names), with random ranges and
  // sometimes one hostile segment spliced in, so that content is really served and checked.
  const served = fc
    .record({
      t: fc.nat({ max: torrents.length - 1 }),
      kind: fc.constantFrom('file', 'piece', 'piece', 'webseed', 'webseed', 'bitfield', 'stats'),
      piece: fc.nat(),
      file: fc.nat(),
      upper: fc.boolean(),
      method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD'),
      range: fc.option(rangeHeader, { freq: 2 }),
      splice: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.nat(), segment) }),
    })
    .map((r): HttpCase => {
      const tor = torrents[r.t]!;
      const h = r.upper ? tor.meta.infoHashHex.toUpperCase() : tor.meta.infoHashHex;
      const files = tor.meta.files;
      const f = files[r.file % files.length]!;
      const parts =
        r.kind === 'file'
          ? ['file', h]
          : r.kind === 'piece'
            ? ['piece', h, String(r.piece % (tor.meta.pieceCount + 1))]
            : r.kind === 'webseed'
              ? ['webseed', h, tor.meta.name, ...f.path.map((c) => percentEncode(Buffer.from(c, 'utf8')))]
              : r.kind === 'bitfield'
                ? ['bitfield', h]
                : ['stats'];
      if (r.splice) parts.splice(r.splice[0] % (parts.length + 1), 0, r.splice[1]);
      return { method: r.method, target: '/' + parts.join('/'), version: 'HTTP/1.1', headers: r.range === null ? [] : [['Range', r.range]], clean: false };
    });
  const hostile = fc
    .record({
      method: fc.constantFrom('GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'OPTIONS', 'DELETE'),
      route,
      rest: fc.array(segment, { maxLength: 4 }),
      sep: fc.constantFrom('/', '/', '/', '//', '/./', '/../'),
      query: fc.option(fc.constantFrom('?x=1', '?', '?../../secret.txt', '#frag', '?%00')),
      range: fc.option(rangeHeader, { freq: 2 }),
      listen: fc.option(fc.constantFrom('6881', '0', '65536', 'abc', '-1', '99999')),
    })
    .map((r): HttpCase => {
      const headers: Array<[string, string]> = [];
      if (r.range !== null) headers.push(['Range', r.range]);
      if (r.listen !== null) headers.push(['X-P2P-Listen-Port', r.listen]);
      return { method: r.method, target: '/' + [r.route, ...r.rest].join(r.sep) + (r.query ?? ''), version: 'HTTP/1.1', headers, clean: false };
    });
  return fc.oneof(served, hostile);
}

/** A 2xx body from the peer API must be the torrent's own bytes at a legitimate offset. */
function checkPeerBody(torrents: Shared[], reply: RawReply): void {
  const { body, headers } = reply;
  const len = Number(headers.get('content-length') ?? body.length);
  assert.equal(body.length, len, 'body length is Content-Length');
  const type = headers.get('content-type') ?? '';
  if (type.startsWith('application/json')) {
    JSON.parse(body.toString('utf8'));
    return;
  }
  // The dashboard (`/`) and its files: never the torrent's bytes, and never executable markup from the request.
  if (type.startsWith('text/html') || type.startsWith('text/css') || type.startsWith('text/javascript') || type.startsWith('text/plain')) {
    assert.ok(!body.includes('<script>alert'), 'no reflected markup');
    return;
  }
  assert.ok(type.startsWith('application/octet-stream'), `2xx of type ${type}`);
  if (torrents.some((t) => fullBits(t.meta).equals(body))) return; // /bitfield
  const cr = headers.get('content-range');
  let start = 0;
  if (reply.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(cr ?? '');
    assert.ok(m, `206 with Content-Range ${cr}`);
    start = Number(m[1]);
    assert.equal(Number(m[2]) - start + 1, len, 'Content-Range length matches the body');
  }
  const found = torrents.some((t) => t.bases.some((base) => base + start + len <= t.data.length && t.data.subarray(base + start, base + start + len).equals(body)));
  assert.ok(found, `a ${len}-byte body (start ${start}) that is not the torrent's bytes at any file or piece start`);
}

test('peer node fuzz: 300 random HTTP requests and 300 random wire sessions; correct bytes only, node stays up, RSS bounded', { timeout: 120_000 }, async (t) => {
  const rss0 = process.memoryUsage().rss;
  const env = await makeNode();
  const { node, torrents } = env;
  try {
    // ---- HTTP
    const httpList = cases(peerHttpCases(torrents), 300, 2);
    const statuses = new Map<string, number>();
    let servedBytes = 0;
    const { value: badHttp, logged } = await countingErrors(() =>
      pool(httpList, 8, async (c) => {
        const head = c.method === 'HEAD';
        const out = await rawHttp(node.port, serialise(c), { head });
        const key = out.kind === 'reply' ? String(out.reply.status) : out.kind;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        assert.notEqual(out.kind, 'timeout', 'answered or closed within 10 s');
        if (out.kind !== 'reply') return;
        const { status, body } = out.reply;
        assert.ok(status < 500, `HTTP ${status}: ${body.subarray(0, 100).toString('latin1')}`);
        assert.ok(!body.includes(SENTINEL), 'a file outside the torrent was served');
        assert.ok(!body.includes('root:x:0:0'), '/etc/passwd was served');
        if (status >= 200 && status < 300 && !head) {
          checkPeerBody(torrents, out.reply);
          servedBytes += body.length;
        } else if (status >= 400) {
          assert.ok(body.length < 4096, 'error bodies are short text');
        }
      }),
    );
    t.diagnostic(`HTTP: ${httpList.length} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; ${servedBytes} bytes of content checked; seed ${SEED}`);
    report('peer HTTP fuzz', badHttp, showCase);
    assert.deepEqual(logged, [], 'the peer logged no internal error');

    // ---- wire
    const wireList = cases(wireSessionArb(torrents), 300, 3);
    let blocksChecked = 0;
    let closedByNode = 0;
    const badWire = await pool(wireList, 5, async (s) => {
      const r = await wireSession(node.port, torrents, s);
      blocksChecked += r.blocks;
      if (r.closedByNode) closedByNode++;
    });
    t.diagnostic(`wire: ${wireList.length} sessions; ${closedByNode} closed by the node (protocol violations); ${blocksChecked} blocks received and checked`);
    report('wire fuzz', badWire, (s) => JSON.stringify(s, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? `<${(v as unknown as { data: number[] }).data.length} bytes>` : v)).slice(0, 400));

    // ---- still serving: a well-behaved wire client gets correct blocks of both torrents.
    await until(() => node.wires.size === 0, 10_000, 'every fuzz connection to be closed');
    for (const tor of torrents) {
      const blocks = await normalClient(node.port, tor);
      t.diagnostic(`normal client after the fuzz: ${blocks} correct blocks of ${tor.meta.name}`);
    }
    const ok = await rawHttp(node.port, serialise({ method: 'GET', target: `/file/${torrents[0]!.meta.infoHashHex}`, version: 'HTTP/1.1', headers: [['Range', 'bytes=100-199']], clean: true }));
    assert.ok(ok.kind === 'reply' && ok.reply.status === 206 && ok.reply.body.equals(torrents[0]!.data.subarray(100, 200)), 'HTTP still serves ranges');

    const grown = (process.memoryUsage().rss - rss0) / MiB;
    t.diagnostic(`RSS grew ${grown.toFixed(1)} MiB over the peer fuzz`);
    assert.ok(grown < 100, `RSS grew ${grown.toFixed(1)} MiB`);
  } finally {
    await env.remove();
  }
});

type WireStep = { m: Message } | { raw: Buffer } | { hugePrefix: number };

interface WireSession {
  torrent: number;
  handshake: 'valid' | 'wrong-hash' | 'wrong-protocol' | 'short';
  steps: WireStep[];
  cuts: number[];
}

function wireSessionArb(torrents: Shared[]): fc.Arbitrary<WireSession> {
  return fc.tuple(fc.nat({ max: torrents.length - 1 }), fc.boolean()).chain(([t, hostile]) => {
    const pieces = torrents[t]!.meta.pieceCount;
    const meta = torrents[t]!.meta;
    // Half the sessions break the protocol somewhere; the others stay within it (so the node
    // unchokes them and serves blocks, which are checked).
    const bad = hostile ? 1 : 0;
    const index = fc.oneof({ weight: 20, arbitrary: fc.nat({ max: pieces - 1 }) }, { weight: bad, arbitrary: fc.constantFrom(pieces, 2 ** 31, 2 ** 32 - 1) });
    const block = index.chain((i) => {
      const size = i < pieces ? pieceSize(meta, i) : BLOCK_SIZE;
      const blocks = Math.ceil(size / BLOCK_SIZE);
      return fc.oneof(
        { weight: 20, arbitrary: fc.nat({ max: blocks - 1 }).map((k) => ({ index: i, begin: k * BLOCK_SIZE, length: Math.min(BLOCK_SIZE, size - k * BLOCK_SIZE) })) },
        { weight: bad, arbitrary: fc.record({ index: fc.constant(i), begin: fc.constantFrom(1, 65535, 65536, 2 ** 32 - 1), length: fc.constantFrom(0, 1, 3616, BLOCK_SIZE + 1, 2 ** 20, 2 ** 32 - 1) }) },
      );
    });
    const bitsLen = Math.ceil(pieces / 8);
    const msg: fc.Arbitrary<Message> = fc.oneof(
      { weight: 8, arbitrary: block.map((r): Message => ({ type: 'request', ...r })) },
      { weight: 2, arbitrary: fc.constantFrom<Message>({ type: 'interested' }, { type: 'not-interested' }, { type: 'choke' }, { type: 'unchoke' }, { type: 'keep-alive' }) },
      { weight: 1, arbitrary: block.map((r): Message => ({ type: 'cancel', ...r })) },
      { weight: 1, arbitrary: index.map((i): Message => ({ type: 'have', index: i })) },
      { weight: 1, arbitrary: fc.oneof({ weight: 4, arbitrary: fc.constant(bitsLen) }, { weight: bad, arbitrary: fc.constantFrom(0, bitsLen + 1, 1000) }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }).map((bits): Message => ({ type: 'bitfield', bits: Buffer.from(bits) }))) },
      { weight: 1, arbitrary: fc.tuple(index, fc.nat({ max: 2 ** 32 - 1 }), anyBytes(64)).map(([i, b, blk]): Message => ({ type: 'piece', index: i, begin: b, block: blk })) },
      { weight: 1, arbitrary: fc.oneof(
        fc.integer({ min: 0, max: 65535 }).map((port): Message => ({ type: 'port', port })),
        fc.tuple(fc.nat({ max: 255 }), anyBytes(100)).map(([id, payload]): Message => ({ type: 'extended', id, payload })),
        fc.integer({ min: 18, max: 255 }).filter((id) => id !== 20).map((id): Message => ({ type: 'unknown', id })),
      ) },
    );
    const step: fc.Arbitrary<WireStep> = fc.oneof(
      { weight: 30, arbitrary: msg.map((m): WireStep => ({ m })) },
      { weight: bad, arbitrary: anyBytes(40).map((raw): WireStep => ({ raw })) },
      { weight: bad, arbitrary: fc.constantFrom(0xffffffff, 2 ** 24, 131_073, 1 << 20).map((hugePrefix): WireStep => ({ hugePrefix })) },
    );
    return fc.record({
      torrent: fc.constant(t),
      handshake: fc.oneof({ weight: 20, arbitrary: fc.constant('valid' as const) }, { weight: bad, arbitrary: fc.constantFrom('wrong-hash' as const, 'wrong-protocol' as const, 'short' as const) }),
      // Interested first most of the time, so that the node unchokes and really serves blocks.
      steps: fc.tuple(fc.boolean(), fc.array(step, { maxLength: 25 })).map(([interested, s]) => (interested ? [{ m: { type: 'interested' } } as WireStep, ...s] : s)),
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
    });
  });
}

function stepBytes(s: WireStep): Buffer {
  if ('m' in s) return encodeMessage(s.m);
  if ('raw' in s) return s.raw;
  const h = Buffer.alloc(4);
  h.writeUInt32BE(s.hugePrefix);
  return Buffer.concat([h, Buffer.alloc(64, 0x41)]);
}

/** One fuzz session: connect, handshake, the steps in random chunks; check every block the node sends. */
async function wireSession(port: number, torrents: Shared[], s: WireSession): Promise<{ blocks: number; closedByNode: boolean }> {
  const tor = torrents[s.torrent]!;
  const ih = s.handshake === 'wrong-hash' ? randomBytes(20) : tor.meta.infoHash;
  let hs = encodeHandshake(ih, Buffer.concat([Buffer.from('-FZ0001-', 'latin1'), randomBytes(12)]));
  if (s.handshake === 'wrong-protocol') hs = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocoX'), hs.subarray(20)]);
  if (s.handshake === 'short') hs = hs.subarray(0, 30);
  const payload = Buffer.concat([hs, ...s.steps.map(stepBytes)]);

  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => {});
  const parser = new MessageParser({ maxMessage: 1 << 20 });
  let pre = Buffer.alloc(0);
  let gotHandshake = false;
  let closed = false;
  let lastData = Date.now();
  let blocks = 0;
  let problem: Error | undefined;
  sock.on('data', (c: Buffer) => {
    lastData = Date.now();
    try {
      if (!gotHandshake) {
        pre = Buffer.concat([pre, c]);
        // Not a plain handshake may be an MSE opening: the node may answer with its MSE key (random bytes).
        if (s.handshake !== 'valid' || pre.length < HANDSHAKE_LENGTH) return;
        const h = decodeHandshake(pre);
        assert.ok(h.infoHash.equals(tor.meta.infoHash), 'the node answers for the torrent asked');
        gotHandshake = true;
        c = pre.subarray(HANDSHAKE_LENGTH);
      }
      for (const m of parser.push(c)) {
        if (m.type !== 'piece') continue;
        const at = m.index * tor.meta.pieceLength + m.begin;
        assert.ok(m.index < tor.meta.pieceCount && m.begin + m.block.length <= pieceSize(tor.meta, m.index), 'block inside its piece');
        assert.ok(m.block.equals(tor.data.subarray(at, at + m.block.length)), `block ${m.index}:${m.begin} holds the torrent's bytes`);
        blocks++;
      }
    } catch (e) {
      problem ??= e as Error;
    }
  });
  sock.on('close', () => (closed = true));
  await new Promise<void>((resolve) => {
    sock.once('connect', resolve);
    sock.once('close', resolve);
  });
  // Write in random chunks, each on its own turn of the event loop.
  const cuts = [...new Set(s.cuts.map((c) => (payload.length ? c % payload.length : 0)))].sort((a, b) => a - b);
  let prev = 0;
  for (const c of [...cuts, payload.length]) {
    if (closed) break;
    sock.write(payload.subarray(prev, c));
    prev = c;
    await sleep(0);
  }
  // Wait for the node to answer (blocks) or close; 60 ms of silence ends the session.
  const t0 = Date.now();
  while (!closed && Date.now() - lastData < 60 && Date.now() - t0 < 3000) await sleep(10);
  const closedByNode = closed;
  sock.destroy();
  if (problem) throw problem;
  const btPrefix = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol', 'latin1')]);
  if (s.handshake !== 'valid') assert.ok(!pre.subarray(0, 20).equals(btPrefix), 'a bad handshake gets no BitTorrent answer');
  return { blocks, closedByNode };
}

async function until(f: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A well-behaved client: handshake, interested, wait for unchoke, fetch every block and check it. */
async function normalClient(port: number, tor: Shared): Promise<number> {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => {});
  const parser = new MessageParser({ maxMessage: 1 << 20 });
  const got = new Map<string, Buffer>();
  let pre = Buffer.alloc(0);
  let hs = false;
  let unchoked = false;
  let closed = false;
  sock.on('data', (c: Buffer) => {
    if (!hs) {
      pre = Buffer.concat([pre, c]);
      if (pre.length < HANDSHAKE_LENGTH) return;
      decodeHandshake(pre);
      hs = true;
      c = pre.subarray(HANDSHAKE_LENGTH);
    }
    for (const m of parser.push(c)) {
      if (m.type === 'unchoke') unchoked = true;
      if (m.type === 'piece') got.set(`${m.index}:${m.begin}`, m.block);
    }
  });
  sock.on('close', () => (closed = true));
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.write(Buffer.concat([encodeHandshake(tor.meta.infoHash, Buffer.concat([Buffer.from('-OK0001-', 'latin1'), randomBytes(12)])), encodeMessage({ type: 'interested' })]));
    await until(() => unchoked || closed, 10_000, 'unchoke');
    assert.ok(!closed && unchoked, 'the node unchokes a normal client');
    const want: Array<{ index: number; begin: number; length: number }> = [];
    for (let index = 0; index < tor.meta.pieceCount; index++) {
      const size = pieceSize(tor.meta, index);
      for (let begin = 0; begin < size; begin += BLOCK_SIZE) want.push({ index, begin, length: Math.min(BLOCK_SIZE, size - begin) });
    }
    sock.write(Buffer.concat(want.map((r) => encodeMessage({ type: 'request', ...r }))));
    await until(() => got.size === want.length || closed, 15_000, `${want.length} blocks`);
    assert.equal(got.size, want.length, 'every block arrived');
    for (const r of want) {
      const at = r.index * tor.meta.pieceLength + r.begin;
      assert.ok(got.get(`${r.index}:${r.begin}`)!.equals(tor.data.subarray(at, at + r.length)), `block ${r.index}:${r.begin}`);
    }
    return want.length;
  } finally {
    sock.destroy();
  }
}
