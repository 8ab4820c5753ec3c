/**
 * Fuzzing over real loopback sockets:
 *  - the tracker server in-process (createTrackerServer + MemorySwarmStore) under 2,000 random and
 *    hostile HTTP requests written byte by byte (random queries, 10,000 info_hashes in a scrape,
 *    numwant=10^9, repeated parameters, long URLs, bad escapes, raw control bytes, odd methods and
 *    versions, `ip` and X-Forwarded-For spoofing): never a 5xx, every 200 a bencoded dict, the
 *    server still answers a normal announce afterwards; and a spoofed `stopped` (or update) cannot
 *    touch a peer registered from another address;
 *  - a PeerNode sharing a single-file and a multi-file torrent under 300 random HTTP requests
 *    (traversal in every spelling, NUL, long URLs, random Range headers: never a 5xx, never a byte
 *    that is not the torrent's at the right offset) and 300 random wire sessions (a valid
 *    handshake, then random and hostile messages): the node stays up, a normal wire client still
 *    gets correct blocks, RSS growth stays bounded.
 *
 * Cases come from fast-check with a new seed each run (printed on failure; `FUZZ_SEED=<n>` replays
 * it). Only 127.0.0.1 and 127.0.0.2 are used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import { createTrackerServer, type TrackerServer } from '../src/tracker/server.ts';
import { MemorySwarmStore } from '../src/tracker/store.ts';
import { trackerConfig } from '../src/tracker/handlers.ts';
import { percentEncode } from '../src/tracker/query.ts';
import { decode, isBytes, isDict, isInt, isList, type BValue } from '../src/metainfo/bencode.ts';
import { makeTorrent } from '../src/metainfo/create.ts';
import { parseMetainfo, pieceSize, type Metainfo } from '../src/metainfo/metainfo.ts';
import { PieceStore } from '../src/storage/piece-store.ts';
import { storageFiles } from '../src/storage/layout.ts';
import { Bitfield } from '../src/bittorrent/bitfield.ts';
import { PeerNode } from '../src/peer/peer-node.ts';
import { BLOCK_SIZE, decodeHandshake, encode as encodeMessage, encodeHandshake, HANDSHAKE_LENGTH, MessageParser, type Message } from '../src/peer/wire/messages.ts';
import { tempDir } from './support/procs.ts';

// ------------------------------------------------------------------------------------ harness

const SEED = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
const SCALE = Number(process.env['FUZZ_RUNS'] ?? 1) || 1;
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const MiB = 1024 * 1024;

/** `n` cases drawn from `arb` with this run's seed (offset per use so the lists differ). */
function cases<T>(arb: fc.Arbitrary<T>, n: number, salt: number): T[] {
  return fc.sample(arb, { seed: SEED + salt, numRuns: runs(n) });
}

/** Run `f` over `items`, `width` at a time; collect every failure with its case. */
async function pool<T>(items: T[], width: number, f: (x: T, i: number) => Promise<void>): Promise<Array<{ i: number; item: T; error: Error }>> {
  const failures: Array<{ i: number; item: T; error: Error }> = [];
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      try {
        await f(items[i]!, i);
      } catch (e) {
        failures.push({ i, item: items[i]!, error: e as Error });
      }
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return failures;
}

function report<T>(what: string, failures: Array<{ i: number; item: T; error: Error }>, show: (x: T) => string): void {
  if (failures.length === 0) return;
  const first = failures
    .slice(0, 5)
    .map((f) => `#${f.i}: ${show(f.item)}\n    -> ${f.error.message.split('\n').slice(0, 6).join('\n       ')}`)
    .join('\n');
  assert.fail(`${what}: ${failures.length} failing case(s). Replay with FUZZ_SEED=${SEED}\n${first}`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const latin1 = (s: string) => Buffer.from(s, 'latin1');
const anyBytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u));
const raw20 = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => Buffer.from(u));

// ------------------------------------------------------------------------- raw HTTP over TCP

interface RawReply {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

type RawOutcome = { kind: 'reply'; reply: RawReply } | { kind: 'closed'; bytes: number } | { kind: 'timeout' };

/** Parse one HTTP/1.x response (Content-Length or chunked, or up to the close). */
function parseResponse(raw: Buffer, head: boolean): RawReply | null {
  // Skip interim 1xx answers (100 Continue to `Expect: 100-continue`).
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(0, 13).toString('latin1'))) {
    const e = raw.indexOf('\r\n\r\n');
    if (e < 0) return null;
    raw = raw.subarray(e + 4);
  }
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
  }
  let body = raw.subarray(end + 4);
  if (head) body = Buffer.alloc(0);
  else if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = body.indexOf('\r\n', at);
      if (nl < 0) break;
      const n = parseInt(body.subarray(at, nl).toString('latin1'), 16);
      if (!(n > 0)) break;
      parts.push(body.subarray(nl + 2, nl + 2 + n));
      at = nl + 2 + n + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers.has('content-length')) body = body.subarray(0, Number(headers.get('content-length')));
  return { status: Number(m[1]), headers, body };
}

/** Write `request` on a fresh connection and read until the server closes it (or `timeoutMs`). */
function rawHttp(port: number, request: Buffer, opts: { localAddress?: string; timeoutMs?: number; head?: boolean } = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: opts.localAddress });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (o: RawOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    const settle = () => {
      const raw = Buffer.concat(chunks);
      const reply = parseResponse(raw, opts.head ?? false);
      finish(reply ? { kind: 'reply', reply } : { kind: 'closed', bytes: raw.length });
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), opts.timeoutMs ?? 10_000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', settle);
    sock.on('close', settle);
    sock.on('error', settle);
    sock.on('connect', () => sock.write(request));
  });
}

interface HttpCase {
  method: string;
  target: string; // latin1: raw bytes of the request target
  version: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  localAddress?: string;
  /** A well-formed GET to the lean routes: must be answered 200. */
  clean: boolean;
}

function serialise(c: HttpCase): Buffer {
  let head = `${c.method} ${c.target} ${c.version}\r\nHost: 127.0.0.1\r\n`;
  for (const [k, v] of c.headers) head += `${k}: ${v}\r\n`;
  if (c.body) head += `Content-Length: ${c.body.length}\r\n`;
  head += 'Connection: close\r\n\r\n';
  return Buffer.concat([latin1(head), c.body ?? Buffer.alloc(0)]);
}

const showCase = (c: HttpCase) => {
  const t = c.target.length > 160 ? `${c.target.slice(0, 160)}... (${c.target.length} chars)` : c.target;
  const h = c.headers.map(([k, v]) => `${k}: ${v.length > 60 ? v.slice(0, 60) + '...' : v}`).join(' | ');
  return JSON.stringify(`${c.method} ${t} ${c.version}`) + (h ? ` [${h}]` : '') + (c.localAddress ? ` from ${c.localAddress}` : '');
};

// ------------------------------------------------------------------------- tracker generators

const enc = (s: string) => percentEncode(Buffer.from(s, 'utf8'));

const hopArb = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('127.0.0.1', '127.0.0.2', '10.0.0.1', 'unknown', '', '1.2.3.4:80', '::ffff:127.0.0.2'), fc.string({ maxLength: 8 }));

const announceParts = fc.record({
  infoHash: fc.oneof({ weight: 5, arbitrary: raw20 }, { weight: 1, arbitrary: anyBytes(30) }),
  peerId: fc.oneof({ weight: 5, arbitrary: raw20 }, { weight: 1, arbitrary: anyBytes(30) }),
  port: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 65535 }) }, { weight: 1, arbitrary: fc.constantFrom('0', '65536', '-1', 'x', '', '99999999999999999') }),
  left: fc.oneof({ weight: 6, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constantFrom('-1', '1e9', '', '9007199254740993') }),
  event: fc.constantFrom('', '', '', 'started', 'completed', 'stopped', 'paused', 'empty', 'bogus', 'constructor'),
  numwant: fc.option(fc.constantFrom('0', '1', '50', '200', '201', '1000000000', '99999999999999999', '-1', 'abc')),
  compact: fc.constantFrom('1', '1', '0', '', 'yes'),
  noPeerId: fc.boolean(),
  ip: fc.option(fc.oneof(fc.ipV4(), fc.constantFrom('127.0.0.2', '::1', 'evil.example', '1.2.3.4'))),
  repeat: fc.array(fc.constantFrom('info_hash', 'peer_id', 'port', 'left', 'event', 'numwant', 'compact', 'key', '__proto__', 'ip'), { maxLength: 2 }),
  extra: fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })), { maxLength: 3 }),
});

function announceTarget(p: Parameters<typeof announceQuery>[0]): string {
  return '/announce?' + announceQuery(p);
}

function announceQuery(p: {
  infoHash: Buffer;
  peerId: Buffer;
  port: number | string;
  left: number | string;
  event: string;
  numwant: string | null;
  compact: string;
  noPeerId: boolean;
  ip: string | null;
  repeat: string[];
  extra: Array<[string, string]>;
}): string {
  const parts = [`info_hash=${percentEncode(p.infoHash)}`, `peer_id=${percentEncode(p.peerId)}`, `port=${p.port}`, 'uploaded=0', 'downloaded=0', `left=${p.left}`, `compact=${p.compact}`];
  if (p.event) parts.push(`event=${p.event}`);
  if (p.numwant !== null) parts.push(`numwant=${p.numwant}`);
  if (p.noPeerId) parts.push('no_peer_id=1');
  if (p.ip !== null) parts.push(`ip=${enc(p.ip)}`);
  for (const r of p.repeat) parts.push(`${r}=${r === 'port' ? '6881' : '1'}`);
  for (const [k, v] of p.extra) parts.push(`${enc(k)}=${enc(v)}`);
  return parts.join('&');
}

const trackerCase: fc.Arbitrary<HttpCase> = fc.oneof(
  // A clean announce (the parameters themselves may still be invalid: a failure reason is the answer).
  { weight: 10, arbitrary: fc.tuple(announceParts, fc.option(fc.array(hopArb, { minLength: 1, maxLength: 4 }))).map(([p, xff]): HttpCase => ({
    method: 'GET', target: announceTarget(p), version: 'HTTP/1.1', headers: xff ? [['X-Forwarded-For', xff.join(', ')]] : [], clean: true,
  })) },
  // Spoofing with the ip parameter and X-Forwarded-For, from 127.0.0.1 or 127.0.0.2.
  { weight: 2, arbitrary: fc.tuple(announceParts, fc.constantFrom('127.0.0.1', '127.0.0.2'), fc.constantFrom('127.0.0.1', '127.0.0.2', '10.9.8.7')).map(([p, from, claim]): HttpCase => ({
    method: 'GET', target: announceTarget({ ...p, ip: claim }), version: 'HTTP/1.1', headers: [['X-Forwarded-For', claim], ['X-Real-IP', claim], ['Forwarded', `for=${claim}`]], localAddress: from, clean: true,
  })) },
  // Scrapes: 0..150 info_hashes, sometimes damaged ones.
  { weight: 4, arbitrary: fc.array(fc.oneof({ weight: 6, arbitrary: raw20 }, { weight: 1, arbitrary: anyBytes(25) }), { maxLength: 150 }).map((hs): HttpCase => ({
    method: 'GET', target: '/scrape' + (hs.length ? '?' + hs.map((h) => `info_hash=${percentEncode(h)}`).join('&') : ''), version: 'HTTP/1.1', headers: [], clean: true,
  })) },
  // 10,000 info_hashes in one scrape (~600 KB of URL), and scrapes over 16 KiB.
  { weight: 1, arbitrary: fc.constantFrom(10_000, 300, 101).map((n): HttpCase => ({
    method: 'GET', target: '/scrape?' + Array.from({ length: n }, (_, i) => `info_hash=${percentEncode(Buffer.alloc(20, i & 0xff))}`).join('&'), version: 'HTTP/1.1', headers: [], clean: n * 70 < 16_000,
  })) },
  // Very long URLs: over the 4 KiB announce limit, around and over Node's 16 KiB header limit.
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(4_000, 4_097, 8_000, 15_000, 17_000, 70_000, 300_000), fc.constantFrom('/announce', '/scrape', '/peers', '/x')).map(([n, p]): HttpCase => ({
    method: 'GET', target: `${p}?` + 'a=' + 'A'.repeat(n), version: 'HTTP/1.1', headers: [], clean: false,
  })) },
  // Bad escapes and odd query syntax.
  { weight: 3, arbitrary: fc.tuple(announceParts, fc.constantFrom('%', '%g1', '%%', '%0', '%zz', '%u00e9', '&&&', '=', '==', '&=&', '%00', '%ff', '+', '?', '%3F%3D', ';')).map(([p, bad]): HttpCase => ({
    method: 'GET', target: '/announce?' + announceQuery(p) + '&' + bad + '&info_hash' + bad, version: 'HTTP/1.1', headers: [], clean: true,
  })) },
  // Random query strings of printable bytes.
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('/announce', '/scrape'), fc.string({ unit: fc.constantFrom('%', '&', '=', 'a', 'F', '0', '9', '_', 'i', 'n', 'f', 'o', '.', '~', '-'), maxLength: 80 })).map(([p, q]): HttpCase => ({
    method: 'GET', target: `${p}?${q}`, version: 'HTTP/1.1', headers: [], clean: true,
  })) },
  // Raw bytes in the request target (NUL, controls, high bytes, spaces): malformed HTTP.
  { weight: 2, arbitrary: fc.tuple(announceParts, fc.array(fc.constantFrom('\x00', '\x01', '\x7f', '\x80', '\xff', '\t', '"', '<', '{', '|', '\\', '^', '`', '\xe9'), { minLength: 1, maxLength: 4 }), fc.nat()).map(([p, bad, at]): HttpCase => {
    const t = announceTarget(p);
    const i = 1 + (at % t.length);
    return { method: 'GET', target: t.slice(0, i) + bad.join('') + t.slice(i), version: 'HTTP/1.1', headers: [], clean: false };
  }) },
  // Other paths and methods, odd versions, odd headers.
  { weight: 3, arbitrary: fc.record({
    method: fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'get', 'BREW', 'CONNECT'),
    target: fc.constantFrom('/', '/announce/', '/ANNOUNCE', '//announce', '/announce%3Finfo_hash=x', '/announce#x', '*', 'http://127.0.0.1/announce?info_hash=x', '/peers', '/peers?info_hash=' + 'ab'.repeat(20), '/peers?info_hash=zz', '/peers?info_hash=%', '/scrape/../announce', '/%2e%2e/etc/passwd', '/announce?' + 'info_hash=a&'.repeat(70)),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1x', 'HTTPS/1.1'),
    headers: fc.array(fc.oneof(
      fc.tuple(fc.constantFrom('X-Forwarded-For', 'Accept', 'X-Junk', 'Cookie', 'User-Agent'), fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ''))),
      fc.constantFrom<[string, string]>(['Transfer-Encoding', 'gzip'], ['X-Big', 'x'.repeat(20_000)], ['Expect', '100-continue'], ['Bad Header', 'x'], ['X-Nul', 'a\x00b'], ['Content-Length', 'abc'], ['Content-Length', '-1']),
    ), { maxLength: 3 }),
    body: fc.option(anyBytes(64)),
  }).map((r): HttpCase => ({ ...r, body: r.body ?? undefined, clean: false })) },
  // 150 headers (over maxHeadersCount 100).
  { weight: 1, arbitrary: announceParts.map((p): HttpCase => ({
    method: 'GET', target: announceTarget(p), version: 'HTTP/1.1', headers: Array.from({ length: 150 }, (_, i): [string, string] => [`X-H${i}`, 'v']), clean: true,
  })) },
);

/** A 200 from /announce or /scrape: a bencoded dict, a failure reason or a well-formed answer. */
function checkTrackerAnswer(target: string, body: Buffer): 'failure' | 'answer' {
  let d: BValue;
  try {
    d = decode(body);
  } catch (e) {
    throw new Error(`200 with a body that is not bencode (${(e as Error).message}): ${JSON.stringify(body.subarray(0, 80).toString('latin1'))}`);
  }
  assert.ok(isDict(d), 'the answer is a bencoded dictionary');
  if (d['failure reason'] !== undefined) {
    assert.ok(isBytes(d['failure reason']) && d['failure reason'].length > 0, 'failure reason is a non-empty string');
    return 'failure';
  }
  if (target.startsWith('/announce')) {
    for (const k of ['interval', 'min interval', 'complete', 'incomplete']) assert.ok(isInt(d[k]) && d[k] >= 0, `${k} is a non-negative integer`);
    const peers = d['peers'];
    if (isBytes(peers)) assert.equal(peers.length % 6, 0, 'compact peers: 6 bytes each');
    else {
      assert.ok(isList(peers), 'peers is a string or a list');
      for (const p of peers) assert.ok(isDict(p) && isBytes(p['ip']) && isInt(p['port']) && p['port'] >= 1 && p['port'] <= 65535, 'list peer {ip, port}');
    }
    assert.ok(d['peers6'] === undefined || (isBytes(d['peers6']) && d['peers6'].length % 18 === 0), 'peers6: 18 bytes each');
    const n = isBytes(peers) ? peers.length / 6 : (peers as BValue[]).length;
    assert.ok(n <= 200, `at most 200 peers (numwant is capped), got ${n}`);
  } else {
    assert.ok(isDict(d['files']), 'scrape answer has files');
    for (const v of Object.values(d['files'])) assert.ok(isDict(v) && isInt(v['complete']) && isInt(v['incomplete']) && isInt(v['downloaded']));
  }
  return 'answer';
}

async function startTracker(intervalSeconds: number): Promise<{ tracker: TrackerServer; store: MemorySwarmStore; port: number }> {
  const store = new MemorySwarmStore(2 * intervalSeconds * 1000);
  const tracker = createTrackerServer(store, trackerConfig(intervalSeconds));
  await new Promise<void>((resolve, reject) => {
    tracker.server.once('error', reject);
    tracker.server.listen(0, '127.0.0.1', () => resolve());
  });
  return { tracker, store, port: (tracker.server.address() as AddressInfo).port };
}

function httpGet(port: number, p: string, localAddress?: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, agent: false, localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Count console.error calls (the servers log every 5xx cause there) while `f` runs. */
async function countingErrors<T>(f: () => Promise<T>): Promise<{ value: T; logged: string[] }> {
  const logged: string[] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => {
    logged.push(args.map((a) => (a instanceof Error ? a.stack : String(a))).join(' '));
  };
  try {
    return { value: await f(), logged };
  } finally {
    console.error = orig;
  }
}

// ---------------------------------------------------------------------------------- tracker tests

test('tracker fuzz: 2,000 random and hostile HTTP requests; never a 5xx, every 200 bencoded, still serving', { timeout: 60_000 }, async (t) => {
  const { tracker, store, port } = await startTracker(60);
  try {
    const list = cases(trackerCase, 2000, 1);
    const statuses = new Map<string, number>();
    let failures = 0;
    let answers = 0;
    const t0 = Date.now();
    const { value: bad, logged } = await countingErrors(() =>
      pool(list, 16, async (c) => {
        const head = c.method === 'HEAD';
        const out = await rawHttp(port, serialise(c), { localAddress: c.localAddress, head });
        const key = out.kind === 'reply' ? String(out.reply.status) : out.kind;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        assert.notEqual(out.kind, 'timeout', 'the server answered or closed the connection within 10 s');
        if (out.kind === 'closed') {
          // Node closes some malformed requests without an answer: only for those.
          assert.ok(!c.clean, 'a well-formed request was closed without an answer');
          return;
        }
        if (out.kind !== 'reply') return;
        const { status, body } = out.reply;
        assert.ok(status < 500, `HTTP ${status}: ${body.subarray(0, 100).toString('latin1')}`);
        assert.ok(status === 200 || (status >= 400 && status < 500), `HTTP ${status} is neither 200 nor 4xx`);
        const pathOnly = c.target.split('?')[0];
        const lean = c.method === 'GET' && (pathOnly === '/announce' || pathOnly === '/scrape');
        if (c.clean && c.version === 'HTTP/1.1') assert.equal(status, 200, 'a well-formed announce/scrape gets HTTP 200 (failures go in the body)');
        if (lean && status === 200) {
          if (checkTrackerAnswer(c.target, body) === 'failure') failures++;
          else answers++;
        }
      }),
    );
    const ms = Date.now() - t0;
    t.diagnostic(`${list.length} requests in ${ms} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; ${answers} answers, ${failures} failure reasons; seed ${SEED}`);
    report('tracker fuzz', bad, showCase);
    assert.deepEqual(logged, [], 'the tracker logged no internal error');

    // Still serving: a normal announce, then its peer is listed.
    const ih = randomBytes(20);
    const q = `/announce?info_hash=${percentEncode(ih)}&peer_id=${percentEncode(randomBytes(20))}&port=6881&uploaded=0&downloaded=0&left=0&compact=1`;
    const r = await httpGet(port, q);
    assert.equal(r.status, 200);
    assert.equal(checkTrackerAnswer(q, r.body), 'answer');
    const peers = await httpGet(port, `/peers?info_hash=${ih.toString('hex')}`);
    assert.deepEqual((JSON.parse(peers.body.toString()) as { peers: Array<{ ip: string; port: number }> }).peers.map((p) => `${p.ip}:${p.port}`), ['127.0.0.1:6881']);
    const counts = await store.counts();
    t.diagnostic(`store after the fuzz: ${counts.swarms} swarms, ${counts.peers} peers`);
  } finally {
    await tracker.stop();
  }
});

test('tracker: a peer registered from 127.0.0.1:P is neither removed nor changed by announces claiming its address from elsewhere', { timeout: 30_000 }, async () => {
  const { tracker, port } = await startTracker(60);
  try {
    const ih = randomBytes(20);
    const victimId = Buffer.from('-VV0001-victimvictim', 'latin1');
    const announce = (o: { from: string; port: number; peerId: Buffer; left: number; event?: string; ip?: string; xff?: string }) => {
      const q = [
        `info_hash=${percentEncode(ih)}`,
        `peer_id=${percentEncode(o.peerId)}`,
        `port=${o.port}`,
        'uploaded=0',
        'downloaded=0',
        `left=${o.left}`,
        'compact=1',
        ...(o.event ? [`event=${o.event}`] : []),
        ...(o.ip ? [`ip=${o.ip}`] : []),
      ].join('&');
      const headers: Array<[string, string]> = o.xff ? [['X-Forwarded-For', o.xff]] : [];
      return rawHttp(port, serialise({ method: 'GET', target: `/announce?${q}`, version: 'HTTP/1.1', headers, clean: true }), { localAddress: o.from });
    };
    const listed = async () => {
      const r = await httpGet(port, `/peers?info_hash=${ih.toString('hex')}`);
      return (JSON.parse(r.body.toString()) as { peers: Array<{ ip: string; port: number; peer_id: string; seeder: boolean }> }).peers;
    };
    const victim = () => listed().then((ps) => ps.find((p) => p.ip === '127.0.0.1' && p.port === 6881));

    const ok = await announce({ from: '127.0.0.1', port: 6881, peerId: victimId, left: 0, event: 'started' });
    assert.equal(ok.kind, 'reply');
    assert.deepEqual(await victim(), { ip: '127.0.0.1', port: 6881, peer_id: victimId.toString('hex'), seeder: true });

    // From 127.0.0.2, claiming 127.0.0.1 in every way: stopped, then an update (other peer_id, left).
    for (const claim of [{ ip: '127.0.0.1' }, { xff: '127.0.0.1' }, { ip: '127.0.0.1', xff: '127.0.0.1' }, { xff: '10.0.0.1, 127.0.0.1' }]) {
      for (const event of ['stopped', '', 'completed', 'paused']) {
        const r = await announce({ from: '127.0.0.2', port: 6881, peerId: Buffer.from('-EV0001-attackerxxxx', 'latin1'), left: 12345, event, ...claim });
        assert.equal(r.kind, 'reply');
        assert.deepEqual(await victim(), { ip: '127.0.0.1', port: 6881, peer_id: victimId.toString('hex'), seeder: true }, `after ${event || 'an update'} from 127.0.0.2 claiming ${JSON.stringify(claim)}`);
      }
    }
    // The attacker's own announces registered it under its real address, never as 127.0.0.1.
    const all = await listed();
    assert.ok(all.every((p) => p.ip === '127.0.0.1' || p.ip === '127.0.0.2'), JSON.stringify(all));
    assert.equal(all.filter((p) => p.ip === '127.0.0.1').length, 1, 'one peer at 127.0.0.1');

    // The other direction: from 127.0.0.1, claiming to be 127.0.0.2 (ip= and X-Forwarded-For),
    // `stopped` for the peer that 127.0.0.2 registered on port 7000: the claim is ignored.
    await announce({ from: '127.0.0.2', port: 7000, peerId: Buffer.from('-OK0001-secondsecond', 'latin1'), left: 5 });
    assert.ok((await listed()).some((p) => p.ip === '127.0.0.2' && p.port === 7000));
    await announce({ from: '127.0.0.1', port: 7000, peerId: randomBytes(20), left: 0, event: 'stopped', ip: '127.0.0.2', xff: '127.0.0.2' });
    assert.ok((await listed()).some((p) => p.ip === '127.0.0.2' && p.port === 7000), '127.0.0.2:7000 is still listed');
    // ...and an announce from 127.0.0.1 claiming 127.0.0.2 registers as 127.0.0.1.
    await announce({ from: '127.0.0.1', port: 7001, peerId: randomBytes(20), left: 0, ip: '127.0.0.2', xff: '127.0.0.2' });
    const ps = await listed();
    assert.ok(ps.some((p) => p.ip === '127.0.0.1' && p.port === 7001) && !ps.some((p) => p.ip === '127.0.0.2' && p.port === 7001), JSON.stringify(ps));

    // The real owner can still stop itself.
    await announce({ from: '127.0.0.1', port: 6881, peerId: victimId, left: 0, event: 'stopped' });
    assert.equal(await victim(), undefined, 'the peer itself can leave');
  } finally {
    await tracker.stop();
  }
});

// ------------------------------------------------------------------------------- peer node

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

// ------------------------------------------------------------------------------ wire sessions

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
        anyBytes(100).map((payload): Message => ({ type: 'extended', payload })),
        fc.integer({ min: 10, max: 255 }).filter((id) => id !== 20).map((id): Message => ({ type: 'unknown', id })),
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
        if (pre.length < HANDSHAKE_LENGTH) return;
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
  if (s.handshake !== 'valid') assert.ok(!gotHandshake, 'a bad handshake gets no answer');
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
