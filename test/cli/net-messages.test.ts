import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainNetError } from '../../src/cli/net-messages.ts';

test('Node network codes become words, the rest of the message stays', () => {
  assert.equal(plainNetError('connect ECONNREFUSED 127.0.0.1:5001'), 'connection refused: nothing listens at 127.0.0.1:5001');
  assert.equal(plainNetError('could not connect: connect ECONNREFUSED [::1]:6881'), 'could not connect: connection refused: nothing listens at [::1]:6881');
  assert.equal(plainNetError('getaddrinfo ENOTFOUND tracker.example'), 'no such host: tracker.example');
  assert.equal(plainNetError('read ECONNRESET'), 'connection reset');
  assert.equal(plainNetError('udp tracker x did not answer within 15 s'), 'udp tracker x did not answer within 15 s');
  assert.equal(plainNetError('EWHATEVER 1.2.3.4'), 'EWHATEVER 1.2.3.4', 'an unknown code is left as it is');
});
