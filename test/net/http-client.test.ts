/**
 * The general HTTP client's pure rules: how a range answer is read, and the default deadline.
 * (Hostile servers against httpGet/httpGetRange: the client attack suite.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultDeadlineMs, HttpError, rangePlan } from '../../src/net/http-client.ts';

test('rangePlan: 206 of our range, 200 of the whole resource, anything else refused', () => {
  const u = 'http://s/f';
  assert.deepEqual(rangePlan(u, 206, { 'content-range': 'bytes 10-19/100', 'content-length': '10' }, 10, 10), { skip: 0, endsWithOurs: true });
  assert.deepEqual(rangePlan(u, 206, { 'content-range': 'bytes 10-29/*' }, 10, 10), { skip: 0, endsWithOurs: false }, 'a longer range: read ours, then close');
  assert.ok(rangePlan(u, 206, { 'content-range': 'bytes 11-19/100' }, 10, 10) instanceof HttpError, 'another start');
  assert.ok(rangePlan(u, 206, { 'content-range': 'bytes 10-18/100' }, 10, 10) instanceof HttpError, 'too short');
  assert.ok(rangePlan(u, 206, {}, 10, 10) instanceof HttpError, 'no Content-Range');
  assert.deepEqual(rangePlan(u, 200, { 'content-length': '20' }, 10, 10), { skip: 10, endsWithOurs: true });
  assert.deepEqual(rangePlan(u, 200, {}, 10, 10), { skip: 10, endsWithOurs: false }, 'unknown length: close after ours');
  assert.ok(rangePlan(u, 200, { 'content-length': '19' }, 10, 10) instanceof HttpError, 'resource too short');
  assert.match(String(rangePlan(u, 404, {}, 0, 1)), /HTTP 404 for http:\/\/s\/f/);
});

test('defaultDeadlineMs: twice the silence timeout plus the bytes at 16 KiB/s', () => {
  assert.equal(defaultDeadlineMs(1000, 0), 2000);
  assert.equal(defaultDeadlineMs(1000, 16 * 1024), 3000);
  assert.equal(defaultDeadlineMs(10, 1), 21);
});
