import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MseError, readOpening } from '../../../src/peer/mse/index.ts';
import { socketPair } from './loopback.ts';

const HANDSHAKE = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(48)]);

test('an opening sent byte by byte is read until it can be classified, and kept whole', async () => {
  for (const [bytes, kind] of [[HANDSHAKE, 'bittorrent'], [Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'http']] as const) {
    const pair = await socketPair();
    pair.client.setNoDelay(true);
    const reading = readOpening(pair.server);
    for (let k = 0; k < 25; k++) {
      pair.client.write(bytes.subarray(k, k + 1));
      await new Promise((r) => setTimeout(r, 2));
    }
    const got = await reading;
    assert.equal(got.kind, kind);
    assert.ok(bytes.subarray(0, got.bytes.length).equals(got.bytes), 'bytes kept in order');
    assert.ok(got.bytes.length <= 25);
    await pair.close();
  }
});

test('a first chunk that decides needs no read; random bytes are mse', async () => {
  const pair = await socketPair();
  const first = randomBytes(96);
  first[0] = 0xaa;
  assert.deepEqual(await readOpening(pair.server, first), { kind: 'mse', bytes: first });
  await pair.close();
});

test('a silent or closing connection is refused', async () => {
  const pair = await socketPair();
  await assert.rejects(readOpening(pair.server, Buffer.from('GE'), 200), /within 200 ms/);
  const pair2 = await socketPair();
  const reading = readOpening(pair2.server, Buffer.from([19]));
  pair2.client.end(); // FIN before the opening is complete
  await assert.rejects(reading, MseError);
  await pair.close();
  await pair2.close();
});
