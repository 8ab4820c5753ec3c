/**
 * readChunks (src/peer/wire/socket-reads.ts) over real loopback sockets: a TCP socket that
 * already buffered bytes (as after a handshake) gives them first, then the rest through the
 * shared read buffer, in order and nothing before it is resumed; other streams use 'data'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { readChunks } from '../../../src/peer/wire/socket-reads.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a TCP socket: bytes buffered before the switch come first, none is read while paused, the rest follow in order', async () => {
  const data = randomBytes(3 * 1024 * 1024);
  const server = net.createServer((s) => {
    s.write(data.subarray(0, 1000));
    s.once('data', () => s.write(data.subarray(1000, 2000))); // the client switched: a little more
    s.on('data', (d) => d.includes(0x21) && s.end(data.subarray(2000)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  try {
    // Read the first bytes as the handshake code does, then pause (the handle still reads).
    const first = (await once(socket, 'data'))[0] as Buffer;
    socket.pause();
    const got: Buffer[] = [first];
    let fromShared = 0;
    readChunks(socket, (c) => {
      if (c.buffer.byteLength === 256 * 1024) fromShared++;
      got.push(Buffer.from(c)); // copied: the shared buffer is reused by the next read
    });
    socket.write('.');
    await sleep(200);
    assert.equal(got.length, 1, 'nothing is read while the socket is paused');
    const ended = once(socket, 'close');
    socket.resume();
    socket.write('!');
    await ended;
    assert.ok(Buffer.concat(got).equals(data), 'every byte, in order');
    assert.ok(fromShared > 0, 'reads went through the shared buffer');
  } finally {
    socket.destroy();
    server.close();
  }
});

test('a stream that is not a TCP socket (MSE, uTP) is read through its data events', async () => {
  const s = new PassThrough();
  const got: Buffer[] = [];
  readChunks(s, (c) => got.push(c));
  s.end(Buffer.from('abc'));
  await once(s, 'end');
  assert.equal(Buffer.concat(got).toString(), 'abc');
});
