import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { classifyOpening } from '../../../src/peer/mse/classify.ts';
import { createKeyPair } from '../../../src/peer/mse/dh.ts';

const handshake = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(48)]);

test('a plain handshake is bittorrent once its 20-byte header is in; before that, more', () => {
  assert.equal(classifyOpening(handshake), 'bittorrent');
  assert.equal(classifyOpening(handshake.subarray(0, 20)), 'bittorrent');
  for (const n of [1, 5, 19]) assert.equal(classifyOpening(handshake.subarray(0, n)), 'more', `n=${n}`);
  assert.equal(classifyOpening(Buffer.alloc(0)), 'more');
});

test('HTTP methods followed by a space are http; a prefix of one is more', () => {
  for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT']) {
    assert.equal(classifyOpening(Buffer.from(`${m} /piece HTTP/1.1\r\n`)), 'http', m);
    assert.equal(classifyOpening(Buffer.from(m)), 'more', m);
  }
  assert.equal(classifyOpening(Buffer.from('G')), 'more');
  assert.equal(classifyOpening(Buffer.from('GETX / HTTP/1.1')), 'mse');
  assert.equal(classifyOpening(Buffer.from('get / HTTP/1.1')), 'mse');
});

test('byte 19 not followed by the protocol name, and random bytes, are mse', () => {
  const near = Buffer.from(handshake);
  near[10] = 0;
  assert.equal(classifyOpening(near), 'mse');
  assert.equal(classifyOpening(Buffer.from([19, 0x42, 0])), 'mse');
});

test('real MSE openings (Ya + PadA) are mse on their first byte or two, never more at 20 bytes', () => {
  let decidedEarly = 0;
  for (let k = 0; k < 2000; k++) {
    const ya = createKeyPair().publicKey;
    assert.equal(classifyOpening(ya), 'mse');
    assert.notEqual(classifyOpening(ya.subarray(0, 20)), 'more');
    if (classifyOpening(ya.subarray(0, 2)) === 'mse') decidedEarly++;
  }
  assert.ok(decidedEarly > 1900, `${decidedEarly}`);
  for (let k = 0; k < 2000; k++) assert.notEqual(classifyOpening(randomBytes(20)), 'more');
});
