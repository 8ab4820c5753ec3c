/**
 * Property-based (fuzz) tests of the tracker's announce/scrape parsers and answer encoders
 * (src/tracker/protocol/): hostile and random input gives a value or the one expected error,
 * never anything else, and never a hang. Seeds and case counts: test/support/fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { decode, isBytes, isDict, isList } from '../../src/metainfo/bencode.ts';
import { percentEncode } from '../../src/tracker/protocol/query.ts';
import { DEFAULT_LIMITS as TRACKER_LIMITS, TrackerRequestError } from '../../src/tracker/protocol/query.ts';
import { parseAnnounce } from '../../src/tracker/protocol/announce.ts';
import { parseScrape, encodeScrapeResponse } from '../../src/tracker/protocol/scrape.ts';
import { encodeAnnounceResponse } from '../../src/tracker/protocol/answer.ts';
import type { PeerInfo } from '../../src/tracker/store/swarm-store.ts';
import { peerSample } from '../tracker/peer-sample.ts';
import { anyBytes, b, check, mutate, mutations, only, queryish, raw20 } from '../support/fuzz.ts';
import { canonicalLength } from '../support/bencode-oracle.ts';

const remoteAddr = fc.oneof(
  { weight: 4, arbitrary: fc.ipV4() },
  { weight: 2, arbitrary: fc.ipV6() },
  { weight: 1, arbitrary: fc.ipV4().map((ip) => `::ffff:${ip}`) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, '', 'localhost', '1.2.3', '::ffff:', 'garbage', '999.1.1.1') },
);

/** A valid announce query, as a client writes it, then optionally damaged. */
const announceQuery = fc
  .record({
    infoHash: raw20,
    peerId: raw20,
    port: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 65535 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 65536, -1, 99999999999) }),
    uploaded: fc.oneof({ weight: 8, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constantFrom(-1, Number.MAX_SAFE_INTEGER, 2 ** 60) }),
    left: fc.oneof({ weight: 8, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constantFrom(-5, 1e21) }),
    event: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('', 'started', 'completed', 'stopped', 'paused', 'empty') },
      { weight: 1, arbitrary: fc.constantFrom('constructor', '__proto__', 'STARTED', 'toString') },
    ),
    numwant: fc.option(fc.oneof(fc.nat(), fc.constantFrom(1e9, 10 ** 16, 10 ** 17, -1))),
    ip: fc.option(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 10 }))),
    extra: fc.array(
      fc.tuple(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('key', 'corrupt', 'supportcrypto', 'trackerid', '__proto__', 'constructor') },
          { weight: 1, arbitrary: fc.constantFrom('info_hash', 'peer_id', 'port', 'left', 'compact', 'no_peer_id', 'event', 'numwant') },
        ),
        fc.string({ maxLength: 8 }),
      ),
      { maxLength: 3 },
    ),
  })
  .map((q) => {
    const parts = [
      `info_hash=${percentEncode(q.infoHash)}`,
      `peer_id=${percentEncode(q.peerId)}`,
      `port=${q.port}`,
      `uploaded=${q.uploaded}`,
      `downloaded=0`,
      `left=${q.left}`,
      'compact=1',
    ];
    if (q.event) parts.push(`event=${q.event}`);
    if (q.numwant !== null) parts.push(`numwant=${q.numwant}`);
    if (q.ip !== null) parts.push(`ip=${encodeURIComponent(q.ip)}`);
    for (const [k, v] of q.extra) parts.push(`${k}=${encodeURIComponent(v)}`);
    return parts.join('&');
  });

/** Mutate a query string at the character level. */
const damagedQuery = fc.tuple(announceQuery, mutations).map(([q, ms]) => mutate(b(q), ms).toString('latin1'));

test('tracker query: parseAnnounce on random and mutated queries throws only TrackerRequestError', (t) => {
  let accepted = 0;
  check(
    t,
    'announces',
    fc.property(fc.oneof(announceQuery, damagedQuery, queryish), remoteAddr, fc.boolean(), (q, remote, trustIp) => {
      const r = only(TrackerRequestError, 'parseAnnounce', () => parseAnnounce(q, remote, TRACKER_LIMITS, { trustIpParam: trustIp }));
      if (!r.ok) return;
      accepted++;
      const a = r.value;
      assert.equal(a.infoHash.length, 20);
      assert.equal(a.peerId.length, 20);
      assert.ok(Number.isInteger(a.port) && a.port >= 1 && a.port <= 65535, 'port 1..65535');
      for (const n of [a.uploaded, a.downloaded, a.left]) assert.ok(Number.isSafeInteger(n) && n >= 0, `a non-negative safe integer: ${n}`);
      assert.ok(a.numwant >= 0 && a.numwant <= TRACKER_LIMITS.maxNumwant, 'numwant capped');
      assert.equal(net.isIP(a.ip), a.family, 'ip matches its family');
      assert.ok(!a.ip.toLowerCase().startsWith('::ffff:') || !net.isIPv4(a.ip.slice(7)), 'IPv4-mapped addresses are normalised');
      if (!trustIp) {
        // The ip parameter is ignored: the address is the connection's, normalised.
        const want = remote!.toLowerCase().startsWith('::ffff:') && net.isIPv4(remote!.slice(7)) ? remote!.slice(7) : remote;
        assert.equal(a.ip, want, 'without --trust-ip-param the address is the connection address');
      }
    }),
    6000,
  );
  t.diagnostic(`announces accepted: ${accepted}`);
  assert.ok(accepted > 200, 'enough valid announces were generated');
});

test('tracker query: parseScrape on random and mutated queries throws only TrackerRequestError', (t) => {
  const scrapeQuery = fc
    .tuple(fc.array(fc.oneof(raw20, anyBytes(24)), { maxLength: 120 }), fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }))
    .map(([hs, junk]) => [...hs.map((h) => `info_hash=${percentEncode(h)}`), ...junk.map((j) => `k=${encodeURIComponent(j)}`)].join('&'));
  check(
    t,
    'scrapes',
    fc.property(fc.oneof(scrapeQuery, fc.tuple(scrapeQuery, mutations).map(([q, ms]) => mutate(b(q), ms).toString('latin1')), queryish), (q) => {
      const r = only(TrackerRequestError, 'parseScrape', () => parseScrape(q));
      if (r.ok) {
        assert.ok(r.value.length <= TRACKER_LIMITS.maxScrapeHashes, `at most ${TRACKER_LIMITS.maxScrapeHashes} scrape hashes: ${r.value.length}`);
        for (const h of r.value) assert.equal(h.length, 20);
      }
    }),
    3000,
  );
});

const peerInfo: fc.Arbitrary<PeerInfo> = fc.record({
  peerId: raw20,
  addr: fc.oneof({ weight: 3, arbitrary: fc.ipV4() }, { weight: 1, arbitrary: fc.ipV6() }),
  port: fc.integer({ min: 1, max: 65535 }),
}).map(({ peerId, addr, port }) => ({ peerId, ip: addr, family: net.isIPv4(addr) ? 4 : 6, port }));

/** The canonical text of an IPv6 address (WHATWG URL serialisation), an oracle independent of src. */
const canon6 = (ip: string) => new URL(`http://[${ip}]/`).hostname;
const v6FromBytes = (x: Buffer) => canon6(Array.from({ length: 8 }, (_, i) => x.readUInt16BE(i * 2).toString(16)).join(':'));

test('tracker answers: encodeAnnounceResponse decodes with our decoder and lists exactly the peers given', (t) => {
  check(
    t,
    'announce answers',
    fc.property(
      fc.array(peerInfo, { maxLength: 60 }),
      fc.boolean(),
      fc.boolean(),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: 100000 }),
      (peers, compact, noPeerId, complete, incomplete, interval) => {
        const out = encodeAnnounceResponse({ interval, minInterval: Math.max(1, interval >> 1), complete, incomplete, peers: peerSample(peers, !noPeerId) }, { compact, noPeerId });
        const d = decode(out);
        assert.ok(isDict(d), 'the announce response decodes to a dict');
        assert.equal(canonicalLength(d), out.length);
        assert.equal(d['interval'], interval);
        assert.equal(d['min interval'], Math.max(1, interval >> 1));
        assert.equal(d['complete'], complete);
        assert.equal(d['incomplete'], incomplete);
        const v4 = peers.filter((p) => p.family === 4);
        const v6 = peers.filter((p) => p.family === 6);
        if (compact) {
          const p4 = d['peers'];
          assert.ok(isBytes(p4) && p4.length === v4.length * 6, 'peers: 6 bytes per IPv4 peer');
          v4.forEach((p, i) => {
            assert.equal([...p4.subarray(i * 6, i * 6 + 4)].join('.'), p.ip);
            assert.equal(p4.readUInt16BE(i * 6 + 4), p.port);
          });
          const p6 = d['peers6'];
          if (v6.length === 0) assert.equal(p6, undefined, 'no peers6 without IPv6 peers');
          else {
            assert.ok(isBytes(p6) && p6.length === v6.length * 18, 'peers6: 18 bytes per IPv6 peer');
            v6.forEach((p, i) => {
              assert.equal(v6FromBytes(p6.subarray(i * 18, i * 18 + 16)), canon6(p.ip), `IPv6 ${p.ip}`);
              assert.equal(p6.readUInt16BE(i * 18 + 16), p.port);
            });
          }
          // The hand-written hot path must be canonical bencode (sorted keys).
          assert.deepEqual(Object.keys(d), Object.keys(d).sort());
        } else {
          const list = d['peers'];
          assert.ok(isList(list) && list.length === peers.length, `peers is a list of ${peers.length}: ${isList(list) ? list.length : typeof list}`);
          // IPv4 peers first, then IPv6; addresses as canonical text (formatted from the bytes).
          const ordered = [...v4, ...v6];
          list.forEach((e, i) => {
            const p = ordered[i]!;
            assert.ok(isDict(e), `peer entry ${i} is a dict`);
            if (p.family === 4) assert.equal(e['ip']?.toString(), p.ip);
            else assert.equal(canon6(e['ip']?.toString() ?? ''), canon6(p.ip));
            assert.equal(e['port'], p.port);
            if (noPeerId) assert.equal(e['peer id'], undefined);
            else assert.ok(isBytes(e['peer id']) && e['peer id'].equals(p.peerId), `peer entry ${i} carries the peer id of ${p.ip}:${p.port}`);
          });
        }
      },
    ),
    3000,
  );
  check(
    t,
    'scrape answers',
    fc.property(fc.uniqueArray(fc.record({ infoHash: raw20, complete: fc.nat(), incomplete: fc.nat(), downloaded: fc.nat() }), { maxLength: 50, selector: (e) => e.infoHash.toString('hex') }), (entries) => {
      const out = encodeScrapeResponse(entries);
      const d = decode(out);
      assert.ok(isDict(d) && isDict(d['files']), 'the scrape response decodes to a dict with a files dict');
      assert.equal(canonicalLength(d), out.length);
      const files = d['files'];
      assert.equal(Object.keys(files).length, entries.length);
      for (const e of entries) {
        const f = files[e.infoHash.toString('latin1')];
        assert.ok(isDict(f), `files has a dict for ${e.infoHash.toString('hex')}`);
        assert.equal(f['complete'], e.complete);
        assert.equal(f['incomplete'], e.incomplete);
        assert.equal(f['downloaded'], e.downloaded);
      }
    }),
    1000,
  );
});
