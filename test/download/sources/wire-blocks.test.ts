/**
 * A piece's blocks from one wire peer (src/download/sources/wire-blocks.ts), against a fake link
 * that records requests and withdrawals: the window, the offsets told to onData, and every way a
 * fetch ends (done, aborted, refused, another source first, a deadline) with nothing left out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlocksFetch, PeerFetches, type BlockLink, type BlocksJob } from '../../../src/download/sources/wire-blocks.ts';
import type { BlockRequest } from '../../../src/peer/wire/our-requests.ts';
import { timerLateness } from '../../support/timing.ts';

class FakeLink implements BlockLink {
  readonly out = new Set<BlockRequest>();
  readonly log: string[] = [];
  refuse: Error | undefined;
  request(r: BlockRequest): void {
    if (this.refuse) throw this.refuse;
    this.out.add(r);
    this.log.push(`request ${r.index}:${r.begin}+${r.into.length}`);
  }
  withdraw(r: BlockRequest): void {
    if (this.out.delete(r)) this.log.push(`cancel ${r.index}:${r.begin}`);
  }
  /** Answer the oldest request still out with `byte`s (or fail it). */
  answer(byte: number, error?: Error): void {
    const r = this.out.values().next().value as BlockRequest;
    this.out.delete(r);
    if (!error) r.into.fill(byte);
    r.settled(error);
  }
}

function job(over: Partial<BlocksJob> = {}): BlocksJob {
  return { piece: 2, begin: 0, into: Buffer.alloc(40), blockSize: 16, window: 2, signal: new AbortController().signal, ...over };
}

const deadlines = () => new PeerFetches(60_000, () => new Error('late'));

test('blocks are asked for in order, `window` at a time, and land in their slices; onData gets piece offsets', async () => {
  const link = new FakeLink();
  const seen: string[] = [];
  const d = deadlines();
  const j = job({ begin: 32, onData: (o, n) => seen.push(`${o}+${n}`) });
  const f = new BlocksFetch(link, j, d);
  assert.deepEqual(link.log, ['request 2:32+16', 'request 2:48+16']);
  link.answer(1);
  assert.deepEqual(link.log.at(-1), 'request 2:64+8');
  link.answer(2);
  link.answer(3);
  await f.done;
  assert.deepEqual(seen, ['0+16', '16+16', '32+8']);
  assert.deepEqual([...j.into], [...Buffer.alloc(16, 1), ...Buffer.alloc(16, 2), ...Buffer.alloc(8, 3)]);
  assert.equal(d.size, 0);
});

test('an abort, a failed block or a refused request withdraws every request still out and rejects', async () => {
  const ac = new AbortController();
  let link = new FakeLink();
  const d = deadlines();
  let f = new BlocksFetch(link, job({ signal: ac.signal }), d);
  ac.abort();
  await assert.rejects(f.done, /request cancelled/);
  assert.equal(link.out.size, 0);
  assert.deepEqual(link.log.slice(2), ['cancel 2:0', 'cancel 2:16']);

  link = new FakeLink();
  f = new BlocksFetch(link, job(), d);
  link.answer(0, new Error('choked'));
  await assert.rejects(f.done, /choked/);
  assert.equal(link.out.size, 0);

  link = new FakeLink();
  link.refuse = new Error('closed');
  await assert.rejects(new BlocksFetch(link, job(), d).done, /closed/);
  await assert.rejects(new BlocksFetch(new FakeLink(), job({ signal: AbortSignal.abort() }), d).done, /request cancelled/);
  assert.equal(d.size, 0);
});

test('another source delivering the piece stops the fetch after the block at hand', async () => {
  const link = new FakeLink();
  let done = false;
  const f = new BlocksFetch(link, job({ isDone: () => done }), deadlines());
  done = true;
  link.answer(1);
  await assert.rejects(f.done, /piece already done/);
  assert.equal(link.out.size, 0);
});

test('a request unanswered for the deadline fails its fetch within 1.25 x the deadline; a fetch with answers in time does not', async () => {
  const d = new PeerFetches(200, () => new Error('peer sent nothing for 0.2 s'));
  const slow = new FakeLink();
  const t0 = performance.now();
  const lateness = timerLateness(250);
  const f = new BlocksFetch(slow, job(), d);
  const live = new FakeLink();
  const g = new BlocksFetch(live, job({ window: 1, into: Buffer.alloc(160) }), d); // 10 blocks, 600 ms in all
  const answering = setInterval(() => live.out.size && live.answer(5), 60);
  await assert.rejects(f.done, /sent nothing/);
  const ms = performance.now() - t0;
  const late = await lateness;
  assert.ok(ms >= 200 && ms < 400 + late, `failed after ${ms.toFixed(0)} ms (timers ${late.toFixed(0)} ms late)`);
  assert.equal(slow.out.size, 0);
  await g.done;
  clearInterval(answering);
  assert.equal(d.size, 0);
});

test('the peer rate: unknown until a window of blocks is measured, then bytes per second', async () => {
  const peer = new PeerFetches(60_000, () => new Error('late'));
  peer.received(16384);
  assert.equal(peer.rate, undefined);
  await new Promise((r) => setTimeout(r, 300));
  peer.received(16384);
  assert.ok(peer.rate !== undefined && peer.rate > 10_000 && peer.rate <= 32768 / 0.25, `rate ${peer.rate}`);
});
