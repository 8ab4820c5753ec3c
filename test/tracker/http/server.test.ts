/**
 * The HTTP tracker over real loopback HTTP: binary info_hash/peer_id round trips in every
 * percent-encoding, compact and list peers, counts, events, expiry, refusals, scrape, /peers,
 * IPv6 (when ::1 can be bound) and the real `npm run tracker` program.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawRequest, type Reply } from '../../support/raw-request.ts';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createTrackerServer, type TrackerServer } from '../../../src/tracker/http/server.ts';
import { MemorySwarmStore } from '../../../src/tracker/store/memory-store.ts';
import { trackerConfig } from '../../../src/tracker/service.ts';
import { decode, isBytes, isDict, isInt, isList, type BDict } from '../../../src/metainfo/bencode.ts';
import { ROOT, startTracker, tempDir } from '../../support/procs.ts';

// ---------------------------------------------------------------------------------------------
// helpers

/** One GET over a fresh connection (no keep-alive agent), the path sent exactly as given. */
function get(port: number, path: string, host = '127.0.0.1'): Promise<Reply> {
  return rawRequest({ host, port, path });
}

interface Running {
  tracker: TrackerServer;
  store: MemorySwarmStore;
  port: number;
  host: string;
}

async function startInProcess(intervalSeconds: number, host = '127.0.0.1'): Promise<Running> {
  const config = trackerConfig(intervalSeconds);
  const store = new MemorySwarmStore(2 * intervalSeconds * 1000);
  const tracker = createTrackerServer(store, config);
  await new Promise<void>((resolve, reject) => {
    tracker.server.once('error', reject);
    tracker.server.listen(0, host, () => {
      tracker.server.off('error', reject);
      resolve();
    });
  });
  return { tracker, store, port: (tracker.server.address() as AddressInfo).port, host };
}

const hex2 = (b: number) => (b < 16 ? '0' : '') + b.toString(16);
const isUnreserved = (b: number) =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;

/** Every byte as an upper-case escape: `%0A%FF`. */
const encUpper = (b: Buffer) => [...b].map((x) => '%' + hex2(x).toUpperCase()).join('');
/** Every byte as a lower-case escape: `%0a%ff`. */
const encLower = (b: Buffer) => [...b].map((x) => '%' + hex2(x)).join('');
/** Unreserved bytes literal (RFC 3986), the rest escaped (lower-case, to differ from encUpper). */
const encLiteral = (b: Buffer) => [...b].map((x) => (isUnreserved(x) ? String.fromCharCode(x) : '%' + hex2(x))).join('');
const ENCODINGS = { upper: encUpper, lower: encLower, literal: encLiteral } as const;
type EncodingName = keyof typeof ENCODINGS;

function peerId(tag: string): Buffer {
  // Binary on purpose: NUL, space, %, + and high bytes, then a readable tag.
  const id = Buffer.alloc(20, 0x41);
  Buffer.from([0x00, 0x20, 0x25, 0x2b, 0x80, 0xff, 0xc3, 0xa9]).copy(id, 0);
  Buffer.from(tag.padEnd(12, '_').slice(0, 12), 'latin1').copy(id, 8);
  return id;
}

interface AnnounceOpts {
  infoHash: Buffer;
  peerId: Buffer;
  port: number;
  left?: number;
  event?: string;
  compact?: 0 | 1;
  numwant?: number;
  encoding?: EncodingName;
  extra?: string;
}

function announcePath(o: AnnounceOpts): string {
  const enc = ENCODINGS[o.encoding ?? 'upper'];
  let q = `info_hash=${enc(o.infoHash)}&peer_id=${enc(o.peerId)}&port=${o.port}&uploaded=0&downloaded=0&left=${o.left ?? 0}`;
  if (o.event !== undefined) q += `&event=${o.event}`;
  if (o.compact !== undefined) q += `&compact=${o.compact}`;
  if (o.numwant !== undefined) q += `&numwant=${o.numwant}`;
  if (o.extra) q += `&${o.extra}`;
  return `/announce?${q}`;
}

function asDict(body: Buffer): BDict {
  const v = decode(body);
  assert.ok(isDict(v), `expected a bencoded dict, got ${body.toString('latin1')}`);
  return v;
}

/** Announce and return the decoded answer, which must not be a failure. */
async function announce(t: Running, o: AnnounceOpts): Promise<BDict> {
  const r = await get(t.port, announcePath(o), t.host);
  assert.equal(r.status, 200);
  const d = asDict(r.body);
  assert.equal(d['failure reason'], undefined, `unexpected failure: ${String(d['failure reason'])}`);
  return d;
}

/** A 200 answer that is a bencoded dict holding exactly one key, `failure reason`. */
async function expectFailure(t: Running, path: string, what: string): Promise<string> {
  const r = await get(t.port, path, t.host);
  assert.equal(r.status, 200, `${what}: status`);
  const d = asDict(r.body);
  assert.deepEqual(Object.keys(d), ['failure reason'], `${what}: keys of ${r.body.toString('latin1')}`);
  const reason = d['failure reason'];
  assert.ok(isBytes(reason) && reason.length > 0, `${what}: failure reason is a non-empty string`);
  return reason.toString();
}

/** Decode a compact IPv4 peer string into `ip:port` strings. */
function compact4(b: Buffer): string[] {
  assert.equal(b.length % 6, 0, 'compact peers is a multiple of 6 bytes');
  const out: string[] = [];
  for (let i = 0; i < b.length; i += 6) out.push(`${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}:${b.readUInt16BE(i + 4)}`);
  return out;
}

function peersOf(d: BDict): Buffer {
  const p = d['peers'];
  assert.ok(isBytes(p), 'compact `peers` is a byte string');
  return p;
}

interface ListPeer {
  ip: string;
  port: number;
  peerId: Buffer | undefined;
  keys: string[];
}

function listPeers(d: BDict): ListPeer[] {
  const p = d['peers'];
  assert.ok(isList(p), '`peers` is a list when compact=0');
  return p.map((e) => {
    assert.ok(isDict(e), `a peer entry is a dict: ${JSON.stringify(e)}`);
    const ip = e['ip'];
    const port = e['port'];
    assert.ok(isBytes(ip), `ip is bytes: ${JSON.stringify(ip)}`);
    assert.ok(isInt(port), `port is an integer: ${JSON.stringify(port)}`);
    const id = e['peer id'];
    return { ip: ip.toString(), port, peerId: isBytes(id) ? Buffer.from(id) : undefined, keys: Object.keys(e).sort() };
  });
}

async function scrape(t: Running, hashes: Buffer[], enc: EncodingName = 'upper'): Promise<{ files: BDict; raw: Buffer }> {
  const q = hashes.map((h) => `info_hash=${ENCODINGS[enc](h)}`).join('&');
  const r = await get(t.port, `/scrape${q ? '?' + q : ''}`, t.host);
  assert.equal(r.status, 200);
  const d = asDict(r.body);
  assert.equal(d['failure reason'], undefined, `unexpected scrape failure: ${String(d['failure reason'])}`);
  const files = d['files'];
  assert.ok(isDict(files), 'scrape answer has a `files` dict');
  return { files, raw: r.body };
}

function scrapeEntry(files: BDict, h: Buffer): { complete: number; incomplete: number; downloaded: number } {
  const e = files[h.toString('latin1')];
  assert.ok(isDict(e), `scrape has an entry for ${h.toString('hex')}`);
  const { complete, incomplete, downloaded } = e;
  assert.ok(isInt(complete) && isInt(incomplete) && isInt(downloaded), `complete, incomplete, downloaded are integers: ${JSON.stringify(e)}`);
  return { complete, incomplete, downloaded };
}

async function peersJson(t: Running, hex: string): Promise<{ status: number; json: any }> {
  const r = await get(t.port, `/peers?info_hash=${hex}`, t.host);
  return { status: r.status, json: JSON.parse(r.body.toString()) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The hard bytes, all in every hash: NUL, space, %, +. Hash k also carries 16 of the 128 high
 * bytes, so the eight hashes together hold every byte 0x80-0xFF.
 */
const HIGH_HASHES: Buffer[] = Array.from({ length: 8 }, (_, k) => {
  const h = Buffer.alloc(20);
  Buffer.from([0x00, 0x20, 0x25, 0x2b]).copy(h, 0);
  for (let i = 0; i < 16; i++) h[4 + i] = 0x80 + 16 * k + i;
  return h;
});
/** Every unreserved class plus the hard bytes, so the `literal` encoding really differs. */
const LITERAL_HASH = Buffer.concat([Buffer.from('Az09-._~', 'latin1'), Buffer.from([0x00, 0x20, 0x25, 0x2b, 0x80, 0xff, 0xc3, 0xa9, 0x26, 0x3d, 0x23, 0x3f])]);

// ---------------------------------------------------------------------------------------------
// one tracker for the tests that do not depend on time (each uses its own info_hashes)

let main: Running;
test.before(async () => {
  main = await startInProcess(1800);
});
test.after(async () => {
  await main.tracker.stop();
});

test('binary info_hash: the same torrent whichever percent-encoding, byte-exact in scrape and /peers', async () => {
  assert.equal(LITERAL_HASH.length, 20);
  const names = Object.keys(ENCODINGS) as EncodingName[];
  const hashes = [...HIGH_HASHES, LITERAL_HASH];
  for (const [k, h] of hashes.entries()) {
    // Rotate: A announces with one encoding, B with the next, the scrape uses the third.
    const ea = names[k % 3]!;
    const eb = names[(k + 1) % 3]!;
    const es = names[(k + 2) % 3]!;
    const idA = peerId(`a${k}`);
    const idB = peerId(`b${k}`);
    const a = await announce(main, { infoHash: h, peerId: idA, port: 7001, left: 10, compact: 0, encoding: ea });
    assert.deepEqual(listPeers(a), [], 'first peer sees nobody');
    const b = await announce(main, { infoHash: h, peerId: idB, port: 7002, left: 0, compact: 0, encoding: eb });
    const seen = listPeers(b);
    assert.equal(seen.length, 1, `hash ${k} (${ea} then ${eb}): B sees A`);
    assert.equal(seen[0]!.port, 7001);
    assert.ok(seen[0]!.peerId && seen[0]!.peerId.equals(idA), 'peer id comes back byte-exact');
    assert.equal(b['complete'], 1);
    assert.equal(b['incomplete'], 1);

    const { files } = await scrape(main, [h], es);
    assert.deepEqual(
      Object.keys(files).map((key) => Buffer.from(key, 'latin1').toString('hex')),
      [h.toString('hex')],
      'scrape key is the exact 20 bytes',
    );
    assert.deepEqual(scrapeEntry(files, h), { complete: 1, incomplete: 1, downloaded: 0 });

    const pj = await peersJson(main, h.toString('hex'));
    assert.equal(pj.status, 200);
    assert.equal(pj.json.info_hash, h.toString('hex'));
    const byPort = [...pj.json.peers].sort((x: any, y: any) => x.port - y.port);
    assert.deepEqual(byPort, [
      { ip: '127.0.0.1', port: 7001, peer_id: idA.toString('hex'), seeder: false },
      { ip: '127.0.0.1', port: 7002, peer_id: idB.toString('hex'), seeder: true },
    ]);
    // Upper-case hex in /peers finds the same swarm.
    const upper = await peersJson(main, h.toString('hex').toUpperCase());
    assert.equal(upper.json.peers.length, 2);
  }
});

test('two peers: each gets the other, never itself, compact and list; counts follow `left`', async () => {
  const h = randomBytes(20);
  const idA = peerId('twoA');
  const idB = peerId('twoB');
  const a1 = await announce(main, { infoHash: h, peerId: idA, port: 6881, left: 1000, compact: 1, event: 'started' });
  assert.equal(peersOf(a1).length, 0);
  assert.equal(a1['complete'], 0);
  assert.equal(a1['incomplete'], 1);
  assert.ok(isInt(a1['interval']) && a1['interval'] === 1800, 'interval is in the answer');
  assert.ok(isInt(a1['min interval']) && a1['min interval'] > 0, 'min interval is in the answer');

  const b1 = await announce(main, { infoHash: h, peerId: idB, port: 6882, left: 0, compact: 1, event: 'started' });
  const pb = peersOf(b1);
  assert.equal(pb.length, 6);
  assert.deepEqual([...pb], [127, 0, 0, 1, 0x1a, 0xe1], '127.0.0.1 then port 6881 big-endian');
  assert.equal(b1['complete'], 1);
  assert.equal(b1['incomplete'], 1);
  assert.equal(b1['peers6'], undefined, 'no peers6 when there are no IPv6 peers');

  const a2 = await announce(main, { infoHash: h, peerId: idA, port: 6881, left: 1000, compact: 1 });
  assert.deepEqual(compact4(peersOf(a2)), ['127.0.0.1:6882']);

  const a3 = await announce(main, { infoHash: h, peerId: idA, port: 6881, left: 1000, compact: 0 });
  const la = listPeers(a3);
  assert.equal(la.length, 1);
  assert.equal(la[0]!.ip, '127.0.0.1');
  assert.equal(la[0]!.port, 6882);
  assert.ok(la[0]!.peerId?.equals(idB), "the list carries B's peer id");
  assert.deepEqual(la[0]!.keys, ['ip', 'peer id', 'port']);

  const b2 = await announce(main, { infoHash: h, peerId: idB, port: 6882, left: 0, compact: 0 });
  const lb = listPeers(b2);
  assert.deepEqual(lb.map((p) => `${p.ip}:${p.port}`), ['127.0.0.1:6881']);
  assert.ok(lb[0]!.peerId?.equals(idA), "the list carries A's peer id");

  // A finishes: both seeders.
  const a4 = await announce(main, { infoHash: h, peerId: idA, port: 6881, left: 0, compact: 1 });
  assert.equal(a4['complete'], 2);
  assert.equal(a4['incomplete'], 0);
  // A starts over (left > 0 again): one of each.
  const a5 = await announce(main, { infoHash: h, peerId: idA, port: 6881, left: 5, compact: 1 });
  assert.equal(a5['complete'], 1);
  assert.equal(a5['incomplete'], 1);
  const { files } = await scrape(main, [h]);
  assert.deepEqual(scrapeEntry(files, h), { complete: 1, incomplete: 1, downloaded: 0 });
});

test('event=stopped removes the peer at once; event=completed counts a download', async () => {
  const h = randomBytes(20);
  const idA = peerId('stopA');
  const idB = peerId('stopB');
  await announce(main, { infoHash: h, peerId: idA, port: 7101, left: 100, event: 'started', compact: 1 });
  await announce(main, { infoHash: h, peerId: idB, port: 7102, left: 100, event: 'started', compact: 1 });

  const done = await announce(main, { infoHash: h, peerId: idA, port: 7101, left: 0, event: 'completed', compact: 1 });
  assert.equal(done['complete'], 1);
  assert.equal(done['incomplete'], 1);
  let s = scrapeEntry((await scrape(main, [h])).files, h);
  assert.deepEqual(s, { complete: 1, incomplete: 1, downloaded: 1 });
  // A repeated `completed` from a peer that already had left=0 is not a second download.
  await announce(main, { infoHash: h, peerId: idA, port: 7101, left: 0, event: 'completed', compact: 1 });
  s = scrapeEntry((await scrape(main, [h])).files, h);
  assert.equal(s.downloaded, 1);

  const stopped = await announce(main, { infoHash: h, peerId: idA, port: 7101, left: 0, event: 'stopped', compact: 1 });
  assert.equal(peersOf(stopped).length, 0, 'a stopping peer gets no peers');
  const b = await announce(main, { infoHash: h, peerId: idB, port: 7102, left: 100, compact: 1 });
  assert.equal(peersOf(b).length, 0, 'B no longer sees A');
  assert.equal(b['complete'], 0);
  assert.equal(b['incomplete'], 1);
  const pj = await peersJson(main, h.toString('hex'));
  assert.deepEqual(pj.json.peers.map((p: any) => p.port), [7102]);
  s = scrapeEntry((await scrape(main, [h])).files, h);
  assert.deepEqual(s, { complete: 0, incomplete: 1, downloaded: 1 });
});

test('every bad announce: HTTP 200, only `failure reason`, and the server keeps answering', async () => {
  const h = randomBytes(20);
  const id = peerId('bad');
  const ok = `info_hash=${encUpper(h)}&peer_id=${encUpper(id)}`;
  const tail = 'port=6881&uploaded=0&downloaded=0&left=0';
  const cases: Array<[string, string]> = [
    ['missing info_hash', `/announce?peer_id=${encUpper(id)}&${tail}`],
    ['19-byte info_hash', `/announce?info_hash=${encUpper(h.subarray(0, 19))}&peer_id=${encUpper(id)}&${tail}`],
    ['21-byte info_hash', `/announce?info_hash=${encUpper(Buffer.concat([h, Buffer.from([0x41])]))}&peer_id=${encUpper(id)}&${tail}`],
    ['missing peer_id', `/announce?info_hash=${encUpper(h)}&${tail}`],
    ['19-byte peer_id', `/announce?info_hash=${encUpper(h)}&peer_id=${encUpper(id.subarray(1))}&${tail}`],
    ['no query at all', `/announce`],
    ['missing port', `/announce?${ok}&uploaded=0&downloaded=0&left=0`],
    ['port 0', `/announce?${ok}&port=0&uploaded=0&downloaded=0&left=0`],
    ['port 70000', `/announce?${ok}&port=70000&uploaded=0&downloaded=0&left=0`],
    ['port abc', `/announce?${ok}&port=abc&uploaded=0&downloaded=0&left=0`],
    ['port -1', `/announce?${ok}&port=-1&uploaded=0&downloaded=0&left=0`],
    ['negative uploaded', `/announce?${ok}&port=6881&uploaded=-1&downloaded=0&left=0`],
    ['non-numeric uploaded', `/announce?${ok}&port=6881&uploaded=abc&downloaded=0&left=0`],
    ['negative downloaded', `/announce?${ok}&port=6881&uploaded=0&downloaded=-5&left=0`],
    ['non-numeric downloaded', `/announce?${ok}&port=6881&uploaded=0&downloaded=1e3&left=0`],
    ['negative left', `/announce?${ok}&port=6881&uploaded=0&downloaded=0&left=-1`],
    ['non-numeric left', `/announce?${ok}&port=6881&uploaded=0&downloaded=0&left=x`],
    ['fractional left', `/announce?${ok}&port=6881&uploaded=0&downloaded=0&left=1.5`],
    ['missing left', `/announce?${ok}&port=6881&uploaded=0&downloaded=0`],
    ['unknown event', `/announce?${ok}&${tail}&event=bogus`],
    ['upper-case event', `/announce?${ok}&${tail}&event=STARTED`],
    ['info_hash twice', `/announce?${ok}&info_hash=${encUpper(h)}&${tail}`],
    ['5000-byte query', `/announce?${ok}&${tail}&key=${'x'.repeat(5000)}`],
    ['bad escape %zz', `/announce?${ok}&${tail}&key=%zz`],
    ['bad escape in info_hash', `/announce?info_hash=%zz${encUpper(h.subarray(1))}&peer_id=${encUpper(id)}&${tail}`],
    ['truncated escape at the end', `/announce?${ok}&${tail}&key=%4`],
  ];
  for (const [what, path] of cases) {
    await expectFailure(main, path, what);
    // ...and a good announce still works right after every bad one.
    await announce(main, { infoHash: h, peerId: id, port: 6881, compact: 1 });
  }
  assert.ok(cases.find(([w]) => w === '5000-byte query')![1].length > 5000, 'the 5000-byte query case is over 5000 bytes');
});

test('event names that are Object.prototype members are refused as unknown events', async () => {
  const h = randomBytes(20);
  const ok = `info_hash=${encUpper(h)}&peer_id=${encUpper(peerId('proto'))}&port=6881&uploaded=0&downloaded=0&left=0`;
  for (const ev of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    await expectFailure(main, `/announce?${ok}&event=${ev}`, `event=${ev}`);
  }
});

test('plain announces: event=paused, event=empty, and key/supportcrypto/no_peer_id/ip (ip not used)', async () => {
  const h = randomBytes(20);
  const idA = peerId('plainA');
  const idB = peerId('plainB');
  const a = await announce(main, { infoHash: h, peerId: idA, port: 7201, left: 0, event: 'paused', compact: 1 });
  assert.equal(a['complete'], 1);
  const b = await announce(main, { infoHash: h, peerId: idB, port: 7202, left: 9, event: 'empty', compact: 1 });
  assert.deepEqual(compact4(peersOf(b)), ['127.0.0.1:7201'], 'the paused peer is in the swarm');
  assert.equal(b['complete'], 1);
  assert.equal(b['incomplete'], 1);

  const c = await announce(main, {
    infoHash: h,
    peerId: peerId('plainC'),
    port: 7203,
    left: 9,
    compact: 0,
    extra: 'key=abc&supportcrypto=1&no_peer_id=1&ip=1.2.3.4',
  });
  const lc = listPeers(c);
  assert.deepEqual(lc.map((p) => `${p.ip}:${p.port}`).sort(), ['127.0.0.1:7201', '127.0.0.1:7202']);
  for (const p of lc) assert.equal(p.peerId, undefined, 'no_peer_id=1 leaves `peer id` out of the list');

  // The `ip` parameter is ignored: C is recorded with its connection's address.
  const pj = await peersJson(main, h.toString('hex'));
  const rec = pj.json.peers.find((p: any) => p.port === 7203);
  assert.equal(rec.ip, '127.0.0.1');
  const d = await announce(main, { infoHash: h, peerId: idA, port: 7201, left: 0, compact: 1 });
  assert.ok(compact4(peersOf(d)).includes('127.0.0.1:7203'), `127.0.0.1:7203 listed: ${compact4(peersOf(d)).join(' ')}`);
  assert.ok(!compact4(peersOf(d)).some((p) => p.startsWith('1.2.3.4')), `the claimed 1.2.3.4 not listed: ${compact4(peersOf(d)).join(' ')}`);
});

test('numwant: capped, and honoured exactly when small', async () => {
  const h = randomBytes(20);
  for (let i = 0; i < 3; i++) await announce(main, { infoHash: h, peerId: peerId(`nw${i}`), port: 7300 + i, left: 1, compact: 1 });
  const me = { infoHash: h, peerId: peerId('nwMe'), port: 7310, left: 1, compact: 1 as const };
  const all = await announce(main, { ...me, numwant: 1000000 });
  assert.deepEqual(compact4(peersOf(all)).sort(), ['127.0.0.1:7300', '127.0.0.1:7301', '127.0.0.1:7302']);
  for (let i = 0; i < 5; i++) {
    const one = await announce(main, { ...me, numwant: 1 });
    assert.equal(peersOf(one).length, 6, 'numwant=1 gives exactly one peer');
    assert.notEqual(compact4(peersOf(one))[0], '127.0.0.1:7310');
  }
  const none = await announce(main, { ...me, numwant: 0 });
  assert.equal(peersOf(none).length, 0);
  // More peers than the cap: the answer is bounded by the tracker, not by numwant.
  const big = randomBytes(20);
  for (let i = 0; i < 230; i++) await announce(main, { infoHash: big, peerId: peerId(`cap${i}`), port: 10000 + i, left: 1, compact: 1 });
  const capped = await announce(main, { infoHash: big, peerId: peerId('capMe'), port: 11000, left: 1, compact: 1, numwant: 1000000 });
  const n = peersOf(capped).length / 6;
  assert.ok(n > 0 && n < 230, `numwant=1000000 is capped (got ${n} of 230)`);
});

test('/scrape: 0, 1 and 3 hashes (unknown one zeros), keys sorted bytewise; 101 hashes refused', async () => {
  const known1 = Buffer.concat([Buffer.from([0xf0]), randomBytes(19)]);
  const known2 = Buffer.concat([Buffer.from([0x00]), randomBytes(19)]);
  const unknown = Buffer.concat([Buffer.from([0x80]), randomBytes(19)]);
  await announce(main, { infoHash: known1, peerId: peerId('sc1'), port: 7401, left: 0 });
  await announce(main, { infoHash: known1, peerId: peerId('sc2'), port: 7402, left: 3 });
  await announce(main, { infoHash: known2, peerId: peerId('sc3'), port: 7403, left: 3 });

  const none = await scrape(main, []);
  for (const k of Object.keys(none.files)) assert.equal(Buffer.from(k, 'latin1').length, 20);

  const one = await scrape(main, [known1]);
  assert.deepEqual(Object.keys(one.files).length, 1);
  assert.deepEqual(scrapeEntry(one.files, known1), { complete: 1, incomplete: 1, downloaded: 0 });

  const three = await scrape(main, [known1, unknown, known2], 'lower');
  // Object.keys keeps wire order for these keys (a 20-byte string is never an array index).
  const keys = Object.keys(three.files).map((k) => Buffer.from(k, 'latin1'));
  assert.equal(keys.length, 3);
  const sorted = [...keys].sort(Buffer.compare);
  assert.deepEqual(keys.map((k) => k.toString('hex')), sorted.map((k) => k.toString('hex')), 'files keys sorted bytewise');
  assert.deepEqual(keys.map((k) => k.toString('hex')), [known2, unknown, known1].map((k) => k.toString('hex')));
  assert.deepEqual(scrapeEntry(three.files, known1), { complete: 1, incomplete: 1, downloaded: 0 });
  assert.deepEqual(scrapeEntry(three.files, known2), { complete: 0, incomplete: 1, downloaded: 0 });
  assert.deepEqual(scrapeEntry(three.files, unknown), { complete: 0, incomplete: 0, downloaded: 0 });
  // Raw bytes: the binary keys sit in the body as-is.
  assert.ok(three.raw.includes(Buffer.concat([Buffer.from('20:'), unknown])), 'the binary key of the unknown hash sits in the body as-is');

  const many = Array.from({ length: 101 }, () => randomBytes(20));
  await expectFailure(main, `/scrape?${many.map((h) => `info_hash=${encUpper(h)}`).join('&')}`, '101 hashes');
  await expectFailure(main, `/scrape?info_hash=${encUpper(known1.subarray(0, 19))}`, '19-byte scrape hash');
  await expectFailure(main, `/scrape?info_hash=%zz`, 'bad escape in scrape');
  // Up to the 64-parameter cap the scrape answers every hash.
  const sixtyFour = await scrape(main, many.slice(0, 64));
  assert.equal(Object.keys(sixtyFour.files).length, 64);
});

test(
  'a scrape of 65..100 hashes (allowed by maxScrapeHashes = 100) is answered',
  async () => {
    const hashes = Array.from({ length: 100 }, () => randomBytes(20));
    for (const n of [65, 100]) {
      const { files } = await scrape(main, hashes.slice(0, n));
      assert.equal(Object.keys(files).length, n, `a scrape of ${n} hashes answers all ${n}`);
    }
  },
);

test('/peers with a bad info_hash is 400 JSON; an unknown path is 404', async () => {
  for (const q of ['', '?info_hash=abc', `?info_hash=${'0'.repeat(39)}`, `?info_hash=${'g'.repeat(40)}`, `?info_hash=${'0'.repeat(41)}`]) {
    const r = await get(main.port, `/peers${q}`);
    assert.equal(r.status, 400, `/peers${q}`);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.equal(typeof JSON.parse(r.body.toString()).error, 'string');
  }
  const unknown = await peersJson(main, 'ab'.repeat(20));
  assert.equal(unknown.status, 200);
  assert.deepEqual(unknown.json, { info_hash: 'ab'.repeat(20), total: 0, page: 1, per_page: 1000, peers: [] });
  // `/` is the dashboard (issue #19).
  for (const p of ['/nope', '/announce/extra', '/scrape/x?info_hash=1']) {
    const r = await get(main.port, p);
    assert.equal(r.status, 404, p);
  }
  const after = await announce(main, { infoHash: randomBytes(20), peerId: peerId('after404'), port: 7501 });
  assert.ok(isInt(after['interval']), `an announce after the 404s has an integer interval: ${JSON.stringify(after)}`);
});

test('expiry: a silent peer leaves answers and /peers, and emptied swarms are deleted', async () => {
  const t = await startInProcess(1); // ttl 2 s, sweep every 0.5 s
  try {
    const h = randomBytes(20);
    const lone = randomBytes(20);
    const quiet = { infoHash: h, peerId: peerId('quiet'), port: 7601, left: 0, compact: 1 as const };
    const live = { infoHash: h, peerId: peerId('live'), port: 7602, left: 5, compact: 1 as const };
    await announce(t, quiet);
    await announce(t, { infoHash: lone, peerId: peerId('lone'), port: 7603, left: 0, compact: 1 });
    const first = await announce(t, live);
    assert.deepEqual(compact4(peersOf(first)), ['127.0.0.1:7601']);
    assert.deepEqual(await t.store.counts(), { swarms: 2, peers: 3, seeders: 2 });

    const started = Date.now();
    let gone = false;
    let last: BDict = first;
    while (Date.now() - started < 4000) {
      await sleep(250);
      last = await announce(t, live); // the live peer keeps announcing
      const pj = await peersJson(t, h.toString('hex'));
      // Peer lists filter by ttl at once; counts follow on the next sweep (every 0.5 s).
      if (peersOf(last).length === 0 && pj.json.peers.length === 1 && last['complete'] === 0) {
        gone = true;
        break;
      }
    }
    const took = Date.now() - started;
    assert.ok(gone, 'the silent peer disappeared within 4 s');
    assert.ok(took >= 1500, `not before its ttl (${took} ms)`);
    assert.equal(last['complete'], 0, 'the expired seeder no longer counts');
    assert.equal(last['incomplete'], 1);
    const pj = await peersJson(t, h.toString('hex'));
    assert.deepEqual(pj.json.peers.map((p: any) => p.port), [7602]);

    // The sweep (every 0.5 s) deletes the lone peer's swarm once it is empty.
    await sleep(700);
    assert.deepEqual(await t.store.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 1, peers: 1 });
    const sc = await scrape(t, [lone]);
    assert.deepEqual(scrapeEntry(sc.files, lone), { complete: 0, incomplete: 0, downloaded: 0 });
    await announce(t, { ...live, event: 'stopped' });
    assert.deepEqual(await t.store.counts().then(({ swarms, peers }) => ({ swarms, peers })), { swarms: 0, peers: 0 });
  } finally {
    await t.tracker.stop();
  }
});

test('IPv6: a ::1 peer announcing with compact=1 is in `peers6` (18 bytes), not in `peers`', async (tc) => {
  let t: Running;
  try {
    t = await startInProcess(1800, '::1');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') {
      tc.skip(`cannot bind ::1 (${code})`);
      return;
    }
    throw e;
  }
  try {
    const h = randomBytes(20);
    const a = await announce(t, { infoHash: h, peerId: peerId('v6A'), port: 7701, left: 0, compact: 1 });
    assert.equal(peersOf(a).length, 0);
    const b = await announce(t, { infoHash: h, peerId: peerId('v6B'), port: 7702, left: 1, compact: 1 });
    assert.equal(peersOf(b).length, 0, 'no IPv6 peer in the 6-byte `peers`');
    const p6 = b['peers6'];
    assert.ok(isBytes(p6), '`peers6` is present');
    assert.equal(p6.length, 18);
    const expected = Buffer.alloc(18);
    expected[15] = 1; // ::1
    expected.writeUInt16BE(7701, 16);
    assert.deepEqual([...p6], [...expected]);
    const l = listPeers(await announce(t, { infoHash: h, peerId: peerId('v6B'), port: 7702, left: 1, compact: 0 }));
    assert.deepEqual(l.map((p) => `${p.ip}|${p.port}`), ['::1|7701']);
  } finally {
    await t.tracker.stop();
  }
});

test('the real tracker program prints its Running line and answers announces', async () => {
  const { proc, port, announce: url } = await startTracker(ROOT);
  try {
    assert.match(proc.out(), new RegExp(`\\* Running on http://127\\.0\\.0\\.1:${port}\\b`));
    assert.equal(url, `http://127.0.0.1:${port}/announce`);
    const t = { port, host: '127.0.0.1' } as Running;
    const h = randomBytes(20);
    await announce(t, { infoHash: h, peerId: peerId('cliA'), port: 7801, left: 0, compact: 1, encoding: 'lower' });
    const b = await announce(t, { infoHash: h, peerId: peerId('cliB'), port: 7802, left: 1, compact: 1, encoding: 'literal' });
    assert.deepEqual(compact4(peersOf(b)), ['127.0.0.1:7801']);
    assert.equal(b['interval'], 1800);
    await expectFailure(t, `/announce?info_hash=${encUpper(h)}`, 'CLI: missing peer_id');
    const sc = await scrape(t, [h]);
    assert.deepEqual(scrapeEntry(sc.files, h), { complete: 1, incomplete: 1, downloaded: 0 });
  } finally {
    proc.kill('SIGTERM');
    await proc.exited;
  }
});

test(
  'startTracker(cwd) starts the program from a folder outside the project',
  async () => {
    const { dir, remove } = await tempDir();
    let started: Awaited<ReturnType<typeof startTracker>> | undefined;
    try {
      started = await startTracker(dir);
      assert.match(started.proc.out(), /\* Running on http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      started?.proc.kill('SIGTERM');
      if (started) await started.proc.exited;
      await remove();
    }
  },
);
