/** LEDBAT and RTO (src/peer/utp/congestion.ts): the window follows queueing delay, losses and timeouts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Congestion } from '../../../src/peer/utp/congestion.ts';

const MSS = 1380;

test('no queueing delay: the window grows (slow start, then LEDBAT gain) up to its cap', () => {
  const cc = new Congestion(MSS, 100 * MSS);
  const start = cc.cwnd;
  for (let i = 0; i < 50; i++) {
    cc.delaySample(1_000_000 + 50, i); // a constant offset: zero queueing delay
    cc.onAck(MSS, cc.cwnd);
  }
  assert.ok(cc.cwnd > start * 4, `grew from ${start} to ${cc.cwnd}`);
  for (let i = 0; i < 5000; i++) cc.onAck(MSS, cc.cwnd);
  assert.equal(cc.cwnd, 100 * MSS, 'capped');
});

test('delay above the 100 ms target shrinks the window; the base delay is the minimum seen, across u32 wrap', () => {
  const cc = new Congestion(MSS, 1000 * MSS);
  const base = 0xffffff00; // the peer's clock is near wrap-around
  cc.delaySample(base, 0);
  cc.onLoss(); // leave slow start
  const before = cc.cwnd;
  for (let i = 0; i < 20; i++) {
    cc.delaySample((base + 300_000) >>> 0, 10 + i); // 300 ms of queueing, wrapped past 2^32
    cc.onAck(MSS, cc.cwnd);
  }
  assert.equal(cc.ourDelayUs, 300_000);
  assert.ok(cc.cwnd < before, `${before} -> ${cc.cwnd}`);
  cc.delaySample((base - 1000) >>> 0, 40);
  assert.equal(cc.ourDelayUs, 0, 'a lower sample is the new base');
});

test('loss halves the window, a timeout drops it to one packet and doubles the RTO (bounded)', () => {
  const cc = new Congestion(MSS, 1000 * MSS);
  for (let i = 0; i < 20; i++) cc.onAck(MSS * 4, cc.cwnd);
  const w = cc.cwnd;
  cc.onLoss();
  assert.equal(cc.cwnd, w / 2);
  cc.onTimeout();
  assert.equal(cc.cwnd, MSS);
  for (let i = 0; i < 20; i++) cc.onTimeout();
  assert.ok(cc.rto <= 16_000, `the rto is capped at 16 s after repeated timeouts: ${cc.rto} ms`);
});

test('RTO follows the smoothed RTT and never goes under 500 ms', () => {
  const cc = new Congestion(MSS, 1000 * MSS);
  for (let i = 0; i < 30; i++) cc.rttSample(1);
  assert.equal(cc.rto, 500);
  for (let i = 0; i < 60; i++) cc.rttSample(800);
  assert.ok(cc.rto >= 800 && cc.rto < 2000, `${cc.rto}`);
});
