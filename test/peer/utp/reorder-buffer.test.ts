/** The receiving half (src/peer/utp/reorder-buffer.ts): in-order delivery across gaps and wrap-around, bounds, FIN. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReorderBuffer, REORDER_SLOTS } from '../../../src/peer/utp/reorder-buffer.ts';
import { sackedSeqs, seqAdd } from '../../../src/peer/utp/packet.ts';

const b = (s: string) => Buffer.from(s);

test('packets out of order across the 16-bit wrap come out in order; the SACK names the held ones', () => {
  const r = new ReorderBuffer(0xfffd);
  const out: string[] = [];
  const deliver = (x: Buffer) => out.push(x.toString());
  assert.equal(r.receive(0x0000, b('c'), deliver), 'stored');
  assert.equal(r.receive(0x0002, b('e'), deliver), 'stored');
  assert.deepEqual(sackedSeqs(r.ackNr, r.sack()!), [0x0000, 0x0002]);
  assert.equal(r.receive(0x0000, b('c'), deliver), 'duplicate');
  assert.equal(r.receive(0xfffe, b('a'), deliver), 'delivered');
  assert.deepEqual(out, ['a']);
  assert.equal(r.receive(0xffff, b('b'), deliver), 'delivered');
  assert.deepEqual(out, ['a', 'b', 'c']);
  assert.equal(r.ackNr, 0x0000);
  assert.equal(r.bytes, 1);
  assert.equal(r.receive(0x0001, b('d'), deliver), 'delivered');
  assert.deepEqual(out, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(r.bytes, 0);
  assert.equal(r.sack(), null);
  assert.equal(r.receive(0xfff0, b('old'), deliver), 'duplicate');
});

test('a seq_nr beyond the reorder window is refused, not stored', () => {
  const r = new ReorderBuffer(100);
  const deliver = () => assert.fail('nothing is in order');
  assert.equal(r.receive(seqAdd(100, REORDER_SLOTS), b('far'), deliver), 'out-of-window');
  assert.equal(r.receive(seqAdd(100, 30000), b('far'), deliver), 'out-of-window');
  assert.equal(r.receive(seqAdd(100, REORDER_SLOTS - 1), b('edge'), deliver), 'stored');
  assert.equal(r.bytes, 4);
});

test('the FIN: eof once everything before it is in; data at or after it is dropped', () => {
  const r = new ReorderBuffer(10);
  const out: string[] = [];
  const deliver = (x: Buffer) => out.push(x.toString());
  r.receive(12, b('y'), deliver);
  r.receive(14, b('after the fin'), deliver);
  r.receiveFin(13);
  assert.equal(r.eof, false);
  assert.equal(r.bytes, 1, 'the packet past the FIN is gone');
  assert.equal(r.receive(15, b('z'), deliver), 'out-of-window');
  r.receive(11, b('x'), deliver);
  assert.deepEqual(out, ['x', 'y']);
  assert.equal(r.eof, true);
  assert.equal(r.ackNr, 13, 'the FIN is acked');
});
