/** Our block requests to a wire peer as promises (src/peer/wire/our-requests.ts), alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OurRequests } from '../../../src/peer/wire/our-requests.ts';
import type { Message } from '../../../src/peer/wire/messages.ts';

/** An OurRequests whose messages are logged as `request|cancel index:begin`. */
function logged() {
  const sent: string[] = [];
  const ours = new OurRequests((m: Message) => {
    if (m.type === 'request' || m.type === 'cancel') sent.push(`${m.type} ${m.index}:${m.begin}`);
  });
  return { ours, sent };
}

test('a block of the requested length settles its request, once; others are ignored', async () => {
  const { ours, sent } = logged();
  const p = ours.add(1, 0, 4, new AbortController().signal);
  assert.deepEqual(sent, ['request 1:0']);
  assert.equal(ours.deliver(1, 0, Buffer.from('abc')), false, 'wrong length');
  assert.equal(ours.deliver(2, 0, Buffer.from('abcd')), false, 'unrequested');
  assert.equal(ours.deliver(1, 0, Buffer.from('abcd')), true);
  assert.equal(ours.deliver(1, 0, Buffer.from('abcd')), false, 'already settled');
  assert.equal((await p).toString(), 'abcd');
});

test('an abort withdraws the request and sends a cancel; an aborted signal sends nothing', async () => {
  const { ours, sent } = logged();
  const ac = new AbortController();
  const p = ours.add(3, 16384, 10, ac.signal);
  ac.abort();
  await assert.rejects(p, /request cancelled/);
  assert.deepEqual(sent, ['request 3:16384', 'cancel 3:16384']);
  assert.equal(ours.deliver(3, 16384, Buffer.alloc(10)), false);
  await assert.rejects(ours.add(4, 0, 1, ac.signal), /request cancelled/);
  assert.equal(sent.length, 2);
});

test('a second request for a block replaces the first; an abort of the first then sends no cancel', async () => {
  const { ours, sent } = logged();
  const first = new AbortController();
  const p1 = ours.add(0, 0, 2, first.signal);
  const p2 = ours.add(0, 0, 2, new AbortController().signal);
  await assert.rejects(p1, /request replaced/);
  first.abort();
  assert.deepEqual(sent, ['request 0:0', 'request 0:0']);
  assert.equal(ours.deliver(0, 0, Buffer.from('ok')), true);
  assert.equal((await p2).toString(), 'ok');
});

test('failAll rejects every request with a fresh error each, and forgets them', async () => {
  const { ours } = logged();
  const ps = [0, 1, 2].map((i) => ours.add(i, 0, 1, new AbortController().signal));
  const errors: Error[] = [];
  ours.failAll(() => {
    const e = new Error('choked');
    errors.push(e);
    return e;
  });
  for (const p of ps) await assert.rejects(p, /choked/);
  assert.equal(errors.length, 3);
  assert.equal(ours.deliver(0, 0, Buffer.alloc(1)), false);
});
