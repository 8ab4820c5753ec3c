/**
 * Fuzzing the tracker's HTTP server over real loopback sockets: createTrackerServer +
 * MemorySwarmStore in-process under 2,000 random and hostile HTTP requests written byte by byte
 * (random queries, 10,000 info_hashes in a scrape, numwant=10^9, repeated parameters, long URLs,
 * bad escapes, raw control bytes, odd methods and versions, `ip` and X-Forwarded-For spoofing):
 * never a 5xx, every 200 a bencoded dict, the server still answers a normal announce afterwards;
 * and a spoofed `stopped` (or update) cannot touch a peer registered from another address.
 *
 * Cases come from fast-check with a new seed each run (printed on failure; `FUZZ_SEED=<n>` replays
 * it). Only 127.0.0.1 and 127.0.0.2 are used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { createTrackerServer, type TrackerServer } from '../../src/tracker/http/server.ts';
import { MemorySwarmStore } from '../../src/tracker/store/memory-store.ts';
import { trackerConfig } from '../../src/tracker/service.ts';
import { percentEncode } from '../../src/tracker/protocol/query.ts';
import { decode, isBytes, isDict, isInt, isList, type BValue } from '../../src/metainfo/bencode.ts';
import { SEED, anyBytes, raw20 } from '../support/fuzz.ts';
import { cases, pool, report, rawHttp, serialise, showCase, countingErrors, type HttpCase } from '../support/net-fuzz.ts';

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
    for (const v of Object.values(d['files']))
      assert.ok(isDict(v) && isInt(v['complete']) && isInt(v['incomplete']) && isInt(v['downloaded']), `integer counts: ${JSON.stringify(v)}`);
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
    assert.ok(
      (await listed()).some((p) => p.ip === '127.0.0.2' && p.port === 7000),
      "127.0.0.1's stopped claiming 127.0.0.2 is ignored: 127.0.0.2:7000 is still listed",
    );
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
