/**
 * src/net/node-internals.ts: Node's private internals, on this Node. Each has a fallback, so a
 * Node that renames them still works, only slower: these tests are where that would show.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import http from 'node:http';
import { readIntoUserBuffer, startConnectionTracking } from '../../src/net/node-internals.ts';

test('on this Node an accepted socket reads into a caller buffer (the fast path\'s shared reads, not silently data events)', async () => {
  const buffer = Buffer.alloc(1024);
  const reads: string[] = [];
  const later: string[] = [];
  let hooked: boolean | undefined;
  const server = net.createServer((socket) => {
    hooked = readIntoUserBuffer(socket, buffer, function (nread, buf) {
      assert.equal(buf, buffer, 'the read landed in the caller\'s buffer');
      (reads.length ? later : reads).push(buf.toString('latin1', 0, nread));
      if (later.length === 0) this.write('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const c = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  c.write('hello');
  await new Promise((resolve) => c.once('data', resolve));
  c.write('again');
  for (let i = 0; i < 100 && later.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  c.destroy();
  await new Promise((resolve) => server.close(resolve));
  assert.equal(hooked, true);
  assert.deepEqual(reads, ['hello']);
  assert.deepEqual(later, ['again'], 'later reads arrive the same way');
});

test('a non-listening http.Server tracks handed-over connections once told (closeAllConnections reaches them)', async () => {
  const front = net.createServer();
  const httpServer = http.createServer((_req, res) => res.end('x'));
  front.on('connection', (socket) => httpServer.emit('connection', socket));
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  startConnectionTracking(httpServer);
  const c = net.connect((front.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => c.once('connect', resolve));
  await new Promise((r) => setTimeout(r, 20));
  const closed = new Promise((resolve) => c.once('close', resolve));
  httpServer.closeAllConnections();
  await closed;
  httpServer.close();
  await new Promise((resolve) => front.close(resolve));
});
