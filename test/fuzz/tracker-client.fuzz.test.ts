/**
 * Property-based (fuzz) tests of tracker replies as our client reads them (parseTrackerReply,
 * src/tracker-client/reply.ts): hostile and random input gives a value or the one expected error, never
 * anything else, and never a hang. Seeds and case counts: test/support/fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { TrackerFailure, parseTrackerReply } from '../../src/tracker-client/reply.ts';
import { anyBytes, b, check, integer, mutate, mutations, only } from '../support/fuzz.ts';
import { type G, bs, gValue, int, refEncode } from '../support/bencode-oracle.ts';

const replyPeerEntry: fc.Arbitrary<G> = fc
  .record({
    ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 12 }), fc.constantFrom('', '1.2.3.4\0', '::1%eth0', '999.0.0.1', '1.2.3.4 ')),
    port: fc.oneof(fc.integer({ min: -2, max: 70000 }), fc.constantFrom(0, 65535, 65536, Number.MAX_SAFE_INTEGER)),
    id: fc.option(anyBytes(24)),
    portAsString: fc.boolean(),
  })
  .map(({ ip, port, id, portAsString }) => {
    const d: Array<[Buffer, G]> = [
      [b('ip'), bs(Buffer.from(ip, 'utf8'))],
      [b('port'), portAsString ? bs(String(port)) : int(port)],
    ];
    if (id) d.push([b('peer id'), bs(id)]);
    return { t: 'd', v: d };
  });

const trackerReplyTree: fc.Arbitrary<G> = fc
  .record({
    failure: fc.option(fc.oneof(anyBytes(10).map(bs), integer.map(int)), { freq: 6 }),
    interval: fc.option(fc.oneof(integer.map(int), anyBytes(3).map(bs))),
    peers: fc.oneof(
      anyBytes(80).map(bs),
      fc.integer({ min: 0, max: 2500 }).map((n) => bs(Buffer.alloc(n * 6 + (n % 4), 0x7f))),
      fc.array(fc.oneof({ weight: 5, arbitrary: replyPeerEntry }, { weight: 1, arbitrary: gValue }), { maxLength: 12 }).map((v): G => ({ t: 'l', v })),
      gValue,
    ),
    peers6: fc.option(fc.oneof(anyBytes(60).map(bs), gValue)),
    extra: fc.option(gValue),
  })
  .map((r) => {
    const d: Array<[Buffer, G]> = [[b('peers'), r.peers]];
    if (r.failure) d.push([b('failure reason'), r.failure]);
    if (r.interval) d.push([b('interval'), r.interval]);
    if (r.peers6) d.push([b('peers6'), r.peers6]);
    if (r.extra) d.push([b('warning message'), r.extra]);
    return { t: 'd', v: d };
  });

test('tracker client: parseTrackerReply gives TrackerFailure or peers with ports 1..65535, valid IPs, at most 2000', (t) => {
  let ok = 0;
  check(
    t,
    'tracker replies',
    fc.property(
      fc.oneof(
        { weight: 4, arbitrary: trackerReplyTree.map((g) => refEncode(g)) },
        { weight: 2, arbitrary: fc.tuple(trackerReplyTree, mutations).map(([g, ms]) => mutate(refEncode(g), ms)) },
        { weight: 1, arbitrary: anyBytes(100) },
      ),
      (x) => {
        const r = only(TrackerFailure, 'parseTrackerReply', () => parseTrackerReply(x));
        if (!r.ok) return;
        ok++;
        const reply = r.value;
        assert.ok(reply.peers.length <= 2000, `${reply.peers.length} peers`);
        assert.ok(reply.interval >= 1 && reply.interval <= 86400 && Number.isInteger(reply.interval), 'interval held to sane bounds');
        for (const p of reply.peers) {
          assert.ok(Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535, `port ${p.port}`);
          assert.notEqual(net.isIP(p.ip), 0, `ip ${JSON.stringify(p.ip)} is an IP address`);
          if (p.peerId) assert.equal(p.peerId.length, 20);
        }
      },
    ),
    5000,
  );
  t.diagnostic(`replies parsed as answers: ${ok}`);
});
