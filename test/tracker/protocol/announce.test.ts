import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decode, isBytes, isDict, isList, type BDict, type BValue } from '../../../src/metainfo/bencode.ts';
import { percentDecode, parseRawQuery, percentEncode, QueryError, TrackerRequestError, DEFAULT_LIMITS } from '../../../src/tracker/protocol/query.ts';
import { parseAnnounce, normaliseAddress } from '../../../src/tracker/protocol/announce.ts';
import { parseScrape, encodeScrapeResponse } from '../../../src/tracker/protocol/scrape.ts';
import { encodeAnnounceResponse, failureResponse } from '../../../src/tracker/protocol/answer.ts';
import { ipv6Bytes } from '../../../src/bittorrent/address.ts';
import type { PeerInfo } from '../../../src/tracker/store/swarm-store.ts';
import { compactPeers, peerSample } from '../peer-sample.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function asDict(v: BValue | undefined): BDict {
  assert.ok(isDict(v), 'expected a dict');
  return v;
}
function bytes(v: BValue | undefined): Buffer {
  assert.ok(isBytes(v), 'expected a byte string');
  return v;
}

/** A 20-byte value with the bytes that query parsers like to corrupt. */
const NASTY = Buffer.from([0x00, 0x20, 0x25, 0x2b, 0x26, 0x3d, 0x3f, 0x23, 0x80, 0x81, 0x9f, 0xa0, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xfe, 0xff, 0x41]);
const HASH = Buffer.alloc(20, 0xaa);
const PEER = Buffer.from('-TS0001-abcdefghijkl');

type Params = Record<string, string | Buffer | undefined>;

function query(over: Params = {}): string {
  const p: Params = { info_hash: HASH, peer_id: PEER, port: '6881', uploaded: '0', downloaded: '0', left: '100', ...over };
  return Object.entries(p)
    .filter((e): e is [string, string | Buffer] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${Buffer.isBuffer(v) ? percentEncode(v) : v}`)
    .join('&');
}

function announceFails(raw: string, message: RegExp, ip = '10.0.0.1'): void {
  assert.throws(
    () => parseAnnounce(raw, ip),
    (e: unknown) => {
      assert.ok(e instanceof TrackerRequestError, `expected TrackerRequestError, got ${String(e)}`);
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('percentDecode / percentEncode / parseRawQuery', () => {
  test('upper and lower case escapes', () => {
    assert.deepEqual(percentDecode('%ff%FF%aB%0a%00'), Buffer.from([0xff, 0xff, 0xab, 0x0a, 0x00]));
  });

  test('literal bytes stand for themselves; + stays 0x2B', () => {
    assert.deepEqual(percentDecode('aZ09-._~'), Buffer.from('aZ09-._~'));
    assert.deepEqual(percentDecode('a+b'), Buffer.from([0x61, 0x2b, 0x62]));
    assert.deepEqual(percentDecode('+'), Buffer.from([0x2b]));
    assert.deepEqual(percentDecode('\u00ff\u0080'), Buffer.from([0xff, 0x80]));
    assert.equal(percentDecode('').length, 0);
  });

  test('bad escapes throw QueryError', () => {
    for (const s of ['%', '%4', '%zz', '%g0', '%0g', 'abc%', 'abc%4', '%%41', '% 1', '%\u01410']) {
      assert.throws(() => percentDecode(s), QueryError, JSON.stringify(s));
    }
  });

  test('non-latin1 characters throw QueryError', () => {
    assert.throws(() => percentDecode('a\u0100'), QueryError);
    assert.throws(() => percentDecode('\u{1F600}'), QueryError);
  });

  test('percentEncode: unreserved literal, everything else %XX upper case', () => {
    assert.equal(percentEncode(Buffer.from('aZ09-._~')), 'aZ09-._~');
    assert.equal(percentEncode(Buffer.from([0x00, 0x20, 0x25, 0x2b, 0x2f, 0xff, 0x0f])), '%00%20%25%2B%2F%FF%0F');
  });

  test('round trip of all 256 byte values', () => {
    const all = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    const enc = percentEncode(all);
    assert.match(enc, /^[A-Za-z0-9\-._~%]+$/);
    assert.ok(percentDecode(enc).equals(all), 'all 256 byte values survive percent-encoding');
    assert.ok(percentDecode(enc.replace(/%([0-9A-F]{2})/g, (_, x: string) => '%' + x.toLowerCase())).equals(all), 'lower-case escapes decode the same');
    for (let i = 0; i < 256; i++) {
      const one = Buffer.from([i]);
      assert.ok(percentDecode(percentEncode(one)).equals(one), `byte ${i}`);
    }
  });

  test('parseRawQuery keeps repeated names in order, values as bytes', () => {
    const m = parseRawQuery('a=1&b=%FF&a=2&&c&d=&e=x=y', 10);
    assert.deepEqual([...m.keys()], ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(m.get('a'), [Buffer.from('1'), Buffer.from('2')]);
    assert.deepEqual(m.get('b'), [Buffer.from([0xff])]);
    assert.deepEqual(m.get('c'), [Buffer.alloc(0)]);
    assert.deepEqual(m.get('d'), [Buffer.alloc(0)]);
    assert.deepEqual(m.get('e'), [Buffer.from('x=y')]);
    assert.equal(parseRawQuery('', 0).size, 0);
  });

  test('parseRawQuery: names are percent-decoded; maxParams enforced', () => {
    assert.deepEqual(parseRawQuery('info%5Fhash=1', 5).get('info_hash'), [Buffer.from('1')]);
    assert.equal(parseRawQuery('a=1&b=2&c=3', 3).size, 3);
    assert.throws(() => parseRawQuery('a=1&b=2&c=3&d=4', 3), QueryError);
    assert.throws(() => parseRawQuery('a=%zz', 3), QueryError);
  });
});

describe('parseAnnounce', () => {
  test('a valid query returns every field', () => {
    const r = parseAnnounce(
      query({ uploaded: '123', downloaded: '456', left: '789', event: 'started', numwant: '30', compact: '1', no_peer_id: '1' }),
      '192.168.1.2',
    );
    assert.ok(r.infoHash.equals(HASH), 'info_hash is the 20 bytes sent');
    assert.ok(r.peerId.equals(PEER), 'peer_id is the 20 bytes sent');
    assert.equal(r.ip, '192.168.1.2');
    assert.equal(r.family, 4);
    assert.equal(r.port, 6881);
    assert.equal(r.uploaded, 123);
    assert.equal(r.downloaded, 456);
    assert.equal(r.left, 789);
    assert.equal(r.event, 'started');
    assert.equal(r.numwant, 30);
    assert.equal(r.compact, true);
    assert.equal(r.noPeerId, true);
  });

  test('defaults: no event, no numwant, no compact', () => {
    const r = parseAnnounce(query({ uploaded: undefined, downloaded: undefined }), '10.0.0.1');
    assert.equal(r.event, 'none');
    assert.equal(r.numwant, DEFAULT_LIMITS.defaultNumwant);
    assert.equal(r.numwant, 50);
    assert.equal(r.compact, false);
    assert.equal(r.noPeerId, false);
    assert.equal(r.uploaded, 0);
    assert.equal(r.downloaded, 0);
  });

  test('events completed / stopped', () => {
    assert.equal(parseAnnounce(query({ event: 'completed' }), '10.0.0.1').event, 'completed');
    assert.equal(parseAnnounce(query({ event: 'stopped' }), '10.0.0.1').event, 'stopped');
  });

  test('info_hash / peer_id with awkward bytes come back byte-exact', () => {
    const r = parseAnnounce(query({ info_hash: NASTY, peer_id: Buffer.from(NASTY).reverse() }), '10.0.0.1');
    assert.ok(r.infoHash.equals(NASTY), `info_hash is byte-exact: ${r.infoHash.toString('hex')}`);
    assert.ok(r.peerId.equals(Buffer.from(NASTY).reverse()), `peer_id is byte-exact: ${r.peerId.toString('hex')}`);
  });

  test('every byte 0x00-0xFF survives in info_hash (lower-case escapes too)', () => {
    for (let start = 0; start < 256; start += 20) {
      const h = Buffer.alloc(20);
      for (let i = 0; i < 20; i++) h[i] = (start + i) & 0xff;
      const lower = percentEncode(h).replace(/%([0-9A-F]{2})/g, (_, x: string) => '%' + x.toLowerCase());
      const r = parseAnnounce(query({ info_hash: undefined }) + '&info_hash=' + lower, '10.0.0.1');
      assert.ok(r.infoHash.equals(h), `block at ${start}`);
    }
  });

  test('a literal + in peer_id is 0x2B, not a space', () => {
    const raw = query({ peer_id: undefined }) + '&peer_id=-XX0001-+++++aaaaaaa';
    const r = parseAnnounce(raw, '10.0.0.1');
    assert.ok(r.peerId.equals(Buffer.from('-XX0001-+++++aaaaaaa')), `+ in peer_id is 0x2B: ${r.peerId.toString('latin1')}`);
  });

  test('missing info_hash', () => announceFails(query({ info_hash: undefined }), /missing info_hash/));
  test('empty info_hash', () => announceFails(query({ info_hash: '' }), /info_hash must be 20 bytes, got 0/));
  test('19-byte info_hash', () => announceFails(query({ info_hash: Buffer.alloc(19) }), /info_hash must be 20 bytes, got 19/));
  test('21-byte info_hash', () => announceFails(query({ info_hash: Buffer.alloc(21) }), /info_hash must be 20 bytes, got 21/));
  test('40 hex characters are not a 20-byte info_hash', () => announceFails(query({ info_hash: HASH.toString('hex') }), /got 40/));
  test('missing peer_id', () => announceFails(query({ peer_id: undefined }), /missing peer_id/));
  test('short peer_id', () => announceFails(query({ peer_id: 'abc' }), /peer_id must be 20 bytes/));
  test('repeated info_hash', () => announceFails(query() + '&info_hash=' + percentEncode(HASH), /info_hash given more than once/));
  test('repeated peer_id', () => announceFails(query() + '&peer_id=' + percentEncode(PEER), /peer_id given more than once/));
  test('bad percent-encoding', () => announceFails(query({ key: '%zz' }), /invalid percent-encoding/));

  for (const port of ['0', '65536', '-1', 'abc', '1.5', '6881x', ' 6881', '99999999999999999999']) {
    test(`port ${JSON.stringify(port)} is refused`, () => announceFails(query({ port }), /port/));
  }
  test('port missing', () => announceFails(query({ port: undefined }), /missing port/));
  test('port empty', () => announceFails(query({ port: '' }), /missing port/));
  test('port 1 and 65535 are accepted', () => {
    assert.equal(parseAnnounce(query({ port: '1' }), '10.0.0.1').port, 1);
    assert.equal(parseAnnounce(query({ port: '65535' }), '10.0.0.1').port, 65535);
  });

  for (const name of ['uploaded', 'downloaded', 'left']) {
    for (const v of ['-1', 'abc', '1e3', '0x10', '+5', '123456789012345678901']) {
      test(`${name}=${v} is refused`, () => announceFails(query({ [name]: v }), new RegExp(name)));
    }
    // Transmission sends left=2^63-1 while it fetches a magnet link's metadata; uint64 max is 20 digits.
    for (const big of ['9999999999999999', '9223372036854775807', '18446744073709551615']) {
      test(`${name}=${big} (above 2^53) counts as 2^53-1`, () => {
        assert.equal(parseAnnounce(query({ [name]: big }), '10.0.0.1')[name as 'left'], Number.MAX_SAFE_INTEGER);
      });
    }
  }
  test('uploaded/left up to 2^53-1 accepted', () => {
    const r = parseAnnounce(query({ uploaded: '9007199254740991', left: '9007199254740991' }), '10.0.0.1');
    assert.equal(r.uploaded, Number.MAX_SAFE_INTEGER);
    assert.equal(r.left, Number.MAX_SAFE_INTEGER);
  });
  test('missing left', () => announceFails(query({ left: undefined }), /missing left/));

  test('unknown event', () => {
    announceFails(query({ event: 'bogus' }), /unknown event/);
    announceFails(query({ event: 'STARTED' }), /unknown event/);
  });

  test(
    'event names that exist on Object.prototype are unknown events',
    () => {
      for (const ev of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
        announceFails(query({ event: ev }), /unknown event/);
      }
    },
  );

  test('event=paused, event=empty, event= are plain announces', () => {
    assert.equal(parseAnnounce(query({ event: 'paused' }), '10.0.0.1').event, 'paused');
    assert.equal(parseAnnounce(query({ event: 'empty' }), '10.0.0.1').event, 'none');
    assert.equal(parseAnnounce(query({ event: '' }), '10.0.0.1').event, 'none');
  });

  test('unknown parameters are ignored (key, supportcrypto, no_peer_id, ip, corrupt)', () => {
    const r = parseAnnounce(query({ key: 'A1B2C3', supportcrypto: '1', requirecrypto: '0', ip: '6.6.6.6', corrupt: '0', no_peer_id: '1' }), '10.0.0.1');
    assert.equal(r.ip, '10.0.0.1');
    assert.equal(r.noPeerId, true);
    assert.equal(r.event, 'none');
    assert.equal(r.left, 100);
  });

  test('compact is only true for "1"', () => {
    assert.equal(parseAnnounce(query({ compact: '0' }), '10.0.0.1').compact, false);
    assert.equal(parseAnnounce(query({ compact: '1' }), '10.0.0.1').compact, true);
  });

  test('numwant capped at maxNumwant; 0 allowed; bad numwant refused', () => {
    assert.equal(parseAnnounce(query({ numwant: '1000000' }), '10.0.0.1').numwant, DEFAULT_LIMITS.maxNumwant);
    assert.equal(parseAnnounce(query({ numwant: String(DEFAULT_LIMITS.maxNumwant) }), '10.0.0.1').numwant, DEFAULT_LIMITS.maxNumwant);
    assert.equal(parseAnnounce(query({ numwant: '0' }), '10.0.0.1').numwant, 0);
    assert.equal(parseAnnounce(query({ numwant: '' }), '10.0.0.1').numwant, DEFAULT_LIMITS.defaultNumwant);
    announceFails(query({ numwant: '-1' }), /numwant/);
    const custom = { ...DEFAULT_LIMITS, defaultNumwant: 7, maxNumwant: 9 };
    assert.equal(parseAnnounce(query(), '10.0.0.1', custom).numwant, 7);
    assert.equal(parseAnnounce(query({ numwant: '10' }), '10.0.0.1', custom).numwant, 9);
  });

  test('query length limit: exactly maxAnnounceQuery accepted, one more refused', () => {
    const base = query() + '&pad=';
    const exact = base + 'x'.repeat(DEFAULT_LIMITS.maxAnnounceQuery - base.length);
    assert.equal(exact.length, DEFAULT_LIMITS.maxAnnounceQuery);
    assert.equal(parseAnnounce(exact, '10.0.0.1').port, 6881);
    announceFails(exact + 'x', /query longer than 4096/);
  });

  test('too many parameters refused', () => {
    const extra = Array.from({ length: DEFAULT_LIMITS.maxParams - 6 }, (_, i) => `k${i}=1`).join('&');
    assert.equal(parseAnnounce(query() + '&' + extra, '10.0.0.1').port, 6881);
    announceFails(query() + '&' + extra + '&one=more', /more than 64 query parameters/);
  });

  test(
    'limits.maxParams passed to parseAnnounce is honoured',
    () => {
      const limits = { ...DEFAULT_LIMITS, maxParams: 6 };
      assert.throws(() => parseAnnounce(query() + '&key=1', '10.0.0.1', limits), TrackerRequestError);
    },
  );

  test('::ffff:127.0.0.1 normalised to 127.0.0.1, family 4', () => {
    const r = parseAnnounce(query(), '::ffff:127.0.0.1');
    assert.equal(r.ip, '127.0.0.1');
    assert.equal(r.family, 4);
  });

  test('::1 is family 6', () => {
    const r = parseAnnounce(query(), '::1');
    assert.equal(r.ip, '::1');
    assert.equal(r.family, 6);
  });

  test('no or bad remote address', () => {
    announceFails(query(), /no remote address/, '');
    assert.throws(() => parseAnnounce(query(), undefined), TrackerRequestError);
    announceFails(query(), /not an IP address/, 'localhost');
  });
});

describe('normaliseAddress', () => {
  test('IPv4, mapped IPv4 (any case), IPv6, zone ids', () => {
    assert.deepEqual(normaliseAddress('1.2.3.4'), { ip: '1.2.3.4', family: 4 });
    assert.deepEqual(normaliseAddress('::ffff:10.0.0.1'), { ip: '10.0.0.1', family: 4 });
    assert.deepEqual(normaliseAddress('::FFFF:10.0.0.1'), { ip: '10.0.0.1', family: 4 });
    assert.deepEqual(normaliseAddress('2001:db8::1'), { ip: '2001:db8::1', family: 6 });
    assert.deepEqual(normaliseAddress('::ffff:abcd'), { ip: '::ffff:abcd', family: 6 });
    assert.deepEqual(normaliseAddress('fe80::1%eth0'), { ip: 'fe80::1%eth0', family: 6 });
  });
  test('refuses non-addresses', () => {
    for (const a of [undefined, '', 'example.com', '1.2.3', '::ffff:1.2.3', '1.2.3.4:80']) {
      assert.throws(() => normaliseAddress(a), TrackerRequestError, String(a));
    }
  });
});

describe('parseScrape', () => {
  test('zero hashes', () => {
    assert.deepEqual(parseScrape(''), []);
    assert.deepEqual(parseScrape('foo=bar'), []);
  });
  test('one hash, byte exact', () => {
    const r = parseScrape('info_hash=' + percentEncode(NASTY));
    assert.equal(r.length, 1);
    assert.ok(r[0]!.equals(NASTY), `the hash is byte-exact: ${r[0]!.toString('hex')}`);
  });
  test('many hashes, in order', () => {
    const hashes = Array.from({ length: 50 }, (_, i) => Buffer.alloc(20, i * 5));
    const r = parseScrape(hashes.map((h) => 'info_hash=' + percentEncode(h)).join('&'));
    assert.equal(r.length, 50);
    r.forEach((h, i) => assert.ok(h.equals(hashes[i]!), `hash ${i}`));
  });
  test(
    'maxScrapeHashes (100) hashes are accepted with DEFAULT_LIMITS',
    () => {
      const hashes = Array.from({ length: DEFAULT_LIMITS.maxScrapeHashes }, (_, i) => Buffer.alloc(20, i));
      const r = parseScrape(hashes.map((h) => 'info_hash=' + percentEncode(h)).join('&'));
      assert.equal(r.length, DEFAULT_LIMITS.maxScrapeHashes);
    },
  );
  test('more than maxScrapeHashes fails', () => {
    const limits = { ...DEFAULT_LIMITS, maxScrapeHashes: 3 };
    const q = (n: number): string => Array.from({ length: n }, (_, i) => 'info_hash=' + percentEncode(Buffer.alloc(20, i))).join('&');
    assert.equal(parseScrape(q(3), limits).length, 3);
    assert.throws(() => parseScrape(q(4), limits), (e: unknown) => e instanceof TrackerRequestError && /at most 3 info_hash/.test(e.message));
  });
  test('wrong length fails', () => {
    assert.throws(() => parseScrape('info_hash=' + percentEncode(Buffer.alloc(19))), (e: unknown) => e instanceof TrackerRequestError && /got 19/.test(e.message));
    assert.throws(
      () => parseScrape('info_hash=' + percentEncode(HASH) + '&info_hash=' + percentEncode(Buffer.alloc(21))),
      (e: unknown) => e instanceof TrackerRequestError && /got 21/.test(e.message),
    );
    assert.throws(() => parseScrape('info_hash='), TrackerRequestError);
  });
  test('query too long fails', () => {
    assert.throws(() => parseScrape('x='.padEnd(DEFAULT_LIMITS.maxScrapeQuery + 1, 'a')), TrackerRequestError);
  });
  test('bad escapes fail with TrackerRequestError', () => {
    assert.throws(() => parseScrape('info_hash=%4'), TrackerRequestError);
  });
});

describe('responses', () => {
  const peers: PeerInfo[] = [
    { peerId: Buffer.alloc(20, 1), ip: '1.2.3.4', family: 4, port: 6881 },
    { peerId: Buffer.alloc(20, 2), ip: '::1', family: 6, port: 443 },
    { peerId: Buffer.alloc(20, 3), ip: '255.0.128.9', family: 4, port: 65535 },
    { peerId: Buffer.alloc(20, 4), ip: '2001:db8::1', family: 6, port: 1 },
  ];
  const base = { interval: 1800, minInterval: 900, complete: 3, incomplete: 7 };

  test('compact: 6 bytes per IPv4 peer, 18 per IPv6 peer in peers6', () => {
    const d = asDict(decode(encodeAnnounceResponse({ ...base, peers: peerSample(peers) }, { compact: true, noPeerId: false })));
    assert.equal(d['interval'], 1800);
    assert.equal(d['min interval'], 900);
    assert.equal(d['complete'], 3);
    assert.equal(d['incomplete'], 7);
    assert.deepEqual(bytes(d['peers']), hex('01020304 1ae1  ff008009 ffff'));
    assert.deepEqual(
      bytes(d['peers6']),
      hex('00000000000000000000000000000001 01bb  20010db8000000000000000000000001 0001'),
    );
  });

  test('compact without IPv6 peers has no peers6; no peers gives an empty string', () => {
    const d = asDict(decode(encodeAnnounceResponse({ ...base, peers: peerSample(peers.filter((p) => p.family === 4)) }, { compact: true, noPeerId: false })));
    assert.equal(bytes(d['peers']).length, 12);
    assert.equal('peers6' in d, false);
    const e = asDict(decode(encodeAnnounceResponse({ ...base, peers: peerSample([]) }, { compact: true, noPeerId: false })));
    assert.equal(bytes(e['peers']).length, 0);
  });

  test('non-compact: list of dicts with peer id, ip, port', () => {
    const d = asDict(decode(encodeAnnounceResponse({ ...base, peers: peerSample(peers) }, { compact: false, noPeerId: false })));
    const list = d['peers'];
    assert.ok(isList(list), 'peers is a list when not compact');
    assert.equal(list.length, 4);
    // IPv4 peers first, then IPv6, each in the given order.
    const ordered = [...peers.filter((p) => p.family === 4), ...peers.filter((p) => p.family === 6)];
    list.forEach((p, i) => {
      const pd = asDict(p);
      assert.deepEqual(Object.keys(pd).sort(), ['ip', 'peer id', 'port']);
      assert.ok(bytes(pd['peer id']).equals(ordered[i]!.peerId), `peer ${i} carries its peer id`);
      assert.equal(bytes(pd['ip']).toString(), ordered[i]!.ip);
      assert.equal(pd['port'], ordered[i]!.port);
    });
    assert.equal(d['interval'], 1800);
  });

  test('non-compact with no_peer_id omits peer id', () => {
    const d = asDict(decode(encodeAnnounceResponse({ ...base, peers: peerSample(peers, false) }, { compact: false, noPeerId: true })));
    const list = d['peers'];
    assert.ok(isList(list), 'peers is a list when not compact');
    assert.equal(list.length, 4);
    for (const p of list) assert.deepEqual(Object.keys(asDict(p)).sort(), ['ip', 'port']);
  });

  test('compactPeers filters by family', () => {
    assert.deepEqual(compactPeers(peers, 4), hex('010203041ae1ff008009ffff'));
    assert.equal(compactPeers(peers, 6).length, 36);
    assert.equal(compactPeers([], 6).length, 0);
  });

  test('encodeScrapeResponse: files keyed by raw 20-byte hashes', () => {
    const h1 = Buffer.alloc(20, 0xff);
    const h2 = Buffer.from(NASTY);
    const h3 = Buffer.alloc(20, 0x00);
    const enc = encodeScrapeResponse([
      { infoHash: h1, complete: 1, incomplete: 2, downloaded: 3 },
      { infoHash: h2, complete: 4, incomplete: 5, downloaded: 6 },
      { infoHash: h3, complete: 0, incomplete: 0, downloaded: 0 },
    ]);
    const top = asDict(decode(enc));
    assert.deepEqual(Object.keys(top), ['files']);
    const files = asDict(top['files']);
    const keys = Object.keys(files).map((k) => Buffer.from(k, 'latin1'));
    assert.deepEqual(keys, [h3, h2, h1]); // bytewise order
    const e1 = asDict(files[h1.toString('latin1')]);
    assert.deepEqual({ ...e1 }, { complete: 1, downloaded: 3, incomplete: 2 });
    const e2 = asDict(files[h2.toString('latin1')]);
    assert.deepEqual({ ...e2 }, { complete: 4, downloaded: 6, incomplete: 5 });
    const e3 = asDict(files[h3.toString('latin1')]);
    assert.deepEqual({ ...e3 }, { complete: 0, downloaded: 0, incomplete: 0 });
  });

  test('encodeScrapeResponse with no entries', () => {
    assert.equal(encodeScrapeResponse([]).toString(), 'd5:filesdee');
  });

  test('failureResponse', () => {
    const d = asDict(decode(failureResponse('invalid info_hash \u00e9')));
    assert.deepEqual(Object.keys(d), ['failure reason']);
    assert.equal(bytes(d['failure reason']).toString('utf8'), 'invalid info_hash \u00e9');
  });
});

describe('ipv6Bytes', () => {
  const cases: Array<[string, string]> = [
    ['::1', '00000000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:DB8:0:0:1:0:0:ff', '20010db80000000000010000000000ff'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
    ['fe80::1%eth0', 'fe800000000000000000000000000001'],
    ['fe80::abcd:1%25', 'fe80' + '0000'.repeat(5) + 'abcd0001'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
  ];
  for (const [ip, expected] of cases) {
    test(ip, () => {
      const out = ipv6Bytes(ip);
      assert.equal(out.length, 16);
      assert.equal(out.toString('hex'), expected);
    });
  }
});
