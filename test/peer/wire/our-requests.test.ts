/** Our block requests to a wire peer (src/peer/wire/our-requests.ts), alone, and as the parser's block sink. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OurRequests, type BlockRequest } from '../../../src/peer/wire/our-requests.ts';
import { MAX_PIECE_LENGTH } from '../../../src/metainfo/metainfo.ts';
import type { Message } from '../../../src/peer/wire/messages.ts';

/** An OurRequests whose messages are logged as `request|cancel index:begin`. */
function logged() {
  const sent: string[] = [];
  const ours = new OurRequests((m: Message) => {
    if (m.type === 'request' || m.type === 'cancel') sent.push(`${m.type} ${m.index}:${m.begin}`);
  });
  return { ours, sent };
}

/** A request whose settlement is logged. */
function block(index: number, begin: number, length: number, log: string[]): BlockRequest {
  return { index, begin, into: Buffer.alloc(length), settled: (e) => log.push(`${index}:${begin} ${e ? e.message : 'ok'}`) };
}

test('a block of the requested length settles its request, once, into its buffer; others are ignored', () => {
  const { ours, sent } = logged();
  const log: string[] = [];
  const r = block(1, 0, 4, log);
  ours.send(r);
  assert.deepEqual(sent, ['request 1:0']);
  assert.equal(ours.deliver(1, 0, Buffer.from('abc')), false, 'wrong length');
  assert.equal(ours.deliver(2, 0, Buffer.from('abcd')), false, 'unrequested');
  assert.equal(ours.deliver(1, 0, Buffer.from('abcd')), true);
  assert.equal(ours.deliver(1, 0, Buffer.from('abcd')), false, 'already settled');
  assert.deepEqual(log, ['1:0 ok']);
  assert.equal(r.into.toString(), 'abcd');
});

test('a second request for a block replaces the first (which fails); withdrawing the first then sends no cancel', () => {
  const { ours, sent } = logged();
  const log: string[] = [];
  const first = block(0, 0, 2, log);
  const second = block(0, 0, 2, log);
  ours.send(first);
  ours.send(second);
  assert.deepEqual(log, ['0:0 request replaced']);
  ours.withdraw(first);
  assert.deepEqual(sent, ['request 0:0', 'request 0:0']);
  assert.equal(ours.deliver(0, 0, Buffer.from('ok')), true);
  assert.deepEqual(log, ['0:0 request replaced', '0:0 ok']);
  assert.equal(second.into.toString(), 'ok');
});

test('failAll fails every request with a fresh error each, and forgets them; a reject fails one', () => {
  const { ours } = logged();
  const log: string[] = [];
  for (const i of [0, 1, 2]) ours.send(block(i, 0, 1, log));
  const errors: Error[] = [];
  ours.reject(2, 0, 1, () => new Error('rejected'));
  ours.failAll(() => {
    const e = new Error('choked');
    errors.push(e);
    return e;
  });
  assert.deepEqual(log, ['2:0 rejected', '0:0 choked', '1:0 choked']);
  assert.equal(errors.length, 2);
  assert.equal(ours.deliver(0, 0, Buffer.alloc(1)), false);
});

test('the sink side: blockTarget names the pending buffer, blockArrived settles it once and counts its bytes', () => {
  let bytes = 0;
  const sent: string[] = [];
  const ours = new OurRequests((m) => sent.push(m.type), (n) => (bytes += n));
  const log: string[] = [];
  const r = block(7, 32768, 100, log);
  ours.send(r);
  assert.equal(ours.blockTarget(7, 32768, 100), r.into);
  assert.equal(ours.blockTarget(7, 32768, 99), undefined, 'wrong length');
  assert.equal(ours.blockTarget(7, 0, 100), undefined, 'another block');
  ours.blockArrived(7, 32768, Buffer.alloc(100)); // not its buffer: ignored
  assert.deepEqual(log, []);
  ours.blockArrived(7, 32768, r.into);
  ours.blockArrived(7, 32768, r.into);
  assert.deepEqual(log, ['7:32768 ok']);
  assert.equal(bytes, 100);
  assert.deepEqual(sent, ['request']);
});

test('pairs that share a key with a request (hostile index and offset) are not it', () => {
  const ours = new OurRequests(() => {});
  const log: string[] = [];
  ours.send(block(1, 0, 10, log));
  assert.equal(ours.blockTarget(0, MAX_PIECE_LENGTH, 10), undefined);
  assert.equal(ours.deliver(0, MAX_PIECE_LENGTH, Buffer.alloc(10)), false);
  assert.equal(ours.deliver(1, 0, Buffer.alloc(10)), true);
});

test('withdraw sends a cancel only for a pending request and settles nothing; failAll sends no cancel even if a settlement withdraws others', () => {
  const sent: string[] = [];
  const ours = new OurRequests((m) => {
    if (m.type === 'request' || m.type === 'cancel') sent.push(`${m.type} ${m.index}:${m.begin}`);
  });
  const log: string[] = [];
  const a = block(0, 0, 1, log);
  ours.send(a);
  ours.withdraw(a);
  ours.withdraw(a);
  assert.deepEqual(sent, ['request 0:0', 'cancel 0:0']);
  assert.equal(log.length, 0);
  // Two requests of one fetch: the first to fail withdraws the other (as BlocksFetch does).
  const rs: BlockRequest[] = [];
  for (const begin of [0, 16384, 32768]) {
    const r: BlockRequest = { index: 3, begin, into: Buffer.alloc(1), settled: (e) => (log.push(`3:${begin} ${e?.message}`), rs.forEach((o) => ours.withdraw(o))) };
    rs.push(r);
    ours.send(r);
  }
  ours.send(block(9, 0, 1, log)); // an allowed-fast piece: kept
  sent.length = 0;
  ours.failAll(() => new Error('choked'), (i) => i === 9);
  assert.deepEqual(sent, [], 'no cancel to a peer that choked us');
  assert.deepEqual(log, ['3:0 choked', '3:16384 choked', '3:32768 choked']);
  assert.ok(ours.blockTarget(9, 0, 1), 'the kept request is still pending');
});
