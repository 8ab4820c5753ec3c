/** parseTrackerReply alone (its hostile inputs are fuzzed with the other parsers). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '../../src/metainfo/bencode.ts';
import { parseTrackerReply, TrackerFailure } from '../../src/tracker-client/reply.ts';

test('compact peers, peers6, counts and warning', () => {
  const v4 = Buffer.from([10, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0, 80]);
  const v6 = Buffer.concat([Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.from([0x1a, 0xe1])]);
  const reply = parseTrackerReply(
    encode({ interval: 900, 'min interval': 60, complete: 3, incomplete: 4, peers: v4, peers6: v6, 'warning message': Buffer.from('hi') }),
  );
  assert.deepEqual(reply, {
    interval: 900,
    minInterval: 60,
    complete: 3,
    incomplete: 4,
    peers: [
      { ip: '10.0.0.1', port: 6881 },
      { ip: '192.168.1.2', port: 80 },
      { ip: '2001:db8::1', port: 6881 },
    ],
    warning: 'hi',
  });
});

test('list peers: ids of 20 bytes kept, bad addresses and ports dropped', () => {
  const id = Buffer.alloc(20, 7);
  const peers = [
    { ip: Buffer.from('1.2.3.4'), port: 1, 'peer id': id },
    { ip: Buffer.from('::1'), port: 65535, 'peer id': Buffer.from('short') },
    { ip: Buffer.from('not an ip'), port: 2 },
    { ip: Buffer.from('5.6.7.8'), port: 0 },
    { ip: Buffer.from('5.6.7.8'), port: 65536 },
  ];
  assert.deepEqual(parseTrackerReply(encode({ interval: 10, peers })).peers, [
    { ip: '1.2.3.4', port: 1, peerId: id },
    { ip: '::1', port: 65535, peerId: undefined },
  ]);
});

test('failure reason, garbage and silly intervals', () => {
  assert.throws(() => parseTrackerReply(encode({ 'failure reason': Buffer.from('go away') })), (e: Error) => e instanceof TrackerFailure && /tracker refused: go away/.test(e.message));
  assert.throws(() => parseTrackerReply(Buffer.from('garbage')), TrackerFailure);
  assert.throws(() => parseTrackerReply(encode([1, 2])), /not a dictionary/);
  assert.equal(parseTrackerReply(encode({ interval: 0, peers: Buffer.alloc(0) })).interval, 1);
  assert.equal(parseTrackerReply(encode({ interval: 10 ** 9, peers: Buffer.alloc(0) })).interval, 24 * 3600);
  assert.equal(parseTrackerReply(encode({ peers: Buffer.alloc(0) })).interval, 1800, 'no interval: 30 minutes');
});
