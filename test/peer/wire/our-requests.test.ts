/** Our block requests to a wire peer as promises (src/peer/wire/our-requests.ts), alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OurRequests } from '../../../src/peer/wire/our-requests.ts';

function log() {
  const sent: string[] = [];
  return { sent, req: (what: string) => () => void sent.push(`request ${what}`), cancel: (what: string) => () => void sent.push(`cancel ${what}`) };
}

test('a block of the requested length settles its request, once; others are ignored', async () => {
  const ours = new OurRequests();
  const l = log();
  const p = ours.add(1, 0, 4, new AbortController().signal, l.req('1:0'), l.cancel('1:0'));
  assert.deepEqual(l.sent, ['request 1:0']);
  assert.equal(ours.deliver(1, 0, Buffer.from('abc')), false, 'wrong length');
  assert.equal(ours.deliver(2, 0, Buffer.from('abcd')), false, 'unrequested');
  assert.equal(ours.deliver(1, 0, Buffer.from('abcd')), true);
  assert.equal(ours.deliver(1, 0, Buffer.from('abcd')), false, 'already settled');
  assert.equal((await p).toString(), 'abcd');
});

test('an abort withdraws the request and sends a cancel; an aborted signal sends nothing', async () => {
  const ours = new OurRequests();
  const l = log();
  const ac = new AbortController();
  const p = ours.add(3, 16384, 10, ac.signal, l.req('3:16384'), l.cancel('3:16384'));
  ac.abort();
  await assert.rejects(p, /request cancelled/);
  assert.deepEqual(l.sent, ['request 3:16384', 'cancel 3:16384']);
  assert.equal(ours.deliver(3, 16384, Buffer.alloc(10)), false);
  await assert.rejects(ours.add(4, 0, 1, ac.signal, l.req('4:0'), l.cancel('4:0')), /request cancelled/);
  assert.equal(l.sent.length, 2);
});

test('a second request for a block replaces the first; an abort of the first then sends no cancel', async () => {
  const ours = new OurRequests();
  const l = log();
  const first = new AbortController();
  const p1 = ours.add(0, 0, 2, first.signal, l.req('a'), l.cancel('a'));
  const p2 = ours.add(0, 0, 2, new AbortController().signal, l.req('b'), l.cancel('b'));
  await assert.rejects(p1, /request replaced/);
  first.abort();
  assert.deepEqual(l.sent, ['request a', 'request b']);
  assert.equal(ours.deliver(0, 0, Buffer.from('ok')), true);
  assert.equal((await p2).toString(), 'ok');
});

test('failAll rejects every request with a fresh error each, and forgets them', async () => {
  const ours = new OurRequests();
  const l = log();
  const ps = [0, 1, 2].map((i) => ours.add(i, 0, 1, new AbortController().signal, l.req(String(i)), l.cancel(String(i))));
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
