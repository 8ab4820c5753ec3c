/** Messages written in one event-loop turn leave together (src/peer/wire/tick-cork.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { corkForTick } from '../../../src/peer/wire/tick-cork.ts';

test('corkForTick: writes of one turn stay corked until the turn ends, then arrive whole and in order', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const peer = await accepted;
  server.close();
  try {
    client.setNoDelay(true);
    const got: Buffer[] = [];
    peer.on('data', (c: Buffer) => got.push(c));
    for (let i = 0; i < 100; i++) {
      corkForTick(client);
      client.write(Buffer.from([i]));
    }
    assert.equal(client.writableCorked, 1, 'one cork however many writes');
    assert.equal(client.writableLength, 100, 'nothing handed to the kernel yet');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(client.writableCorked, 0);
    const deadline = Date.now() + 5000;
    while (Buffer.concat(got).length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual([...Buffer.concat(got)], Array.from({ length: 100 }, (_, i) => i));
    client.destroy();
    corkForTick(client); // a destroyed socket is left alone
    assert.equal(client.writableCorked, 0);
  } finally {
    client.destroy();
    peer.destroy();
  }
});
