/**
 * The fast path's connection cap (issue #13 leftover): one address opening many connections is
 * cut off at accept; a second address still gets its announce answered; exempt addresses count
 * only in the total.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createTrackerServer } from '../../../src/tracker/http/server.ts';
import { MemorySwarmStore } from '../../../src/tracker/store/memory-store.ts';
import { trackerConfig } from '../../../src/tracker/service.ts';
import { percentEncode } from '../../../src/tracker/protocol/query.ts';
import { parseCidr } from '../../../src/tracker/client-address.ts';
import type { ConnectionLimits } from '../../../src/tracker/http/connection-cap.ts';

async function withTracker(limits: ConnectionLimits, body: (port: number) => Promise<void>): Promise<void> {
  const tracker = createTrackerServer(new MemorySwarmStore(60_000, { exempt: [] }), trackerConfig(1800), limits);
  await new Promise<void>((resolve) => tracker.server.listen(0, '127.0.0.1', resolve));
  try {
    await body((tracker.server.address() as AddressInfo).port);
  } finally {
    await tracker.stop();
  }
}

/** A connection from `from`, and whether the server closed it within 300 ms without a word. */
async function open(port: number, from: string): Promise<{ socket: net.Socket; closed: boolean }> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  const closed = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 300);
    socket.once('close', () => (clearTimeout(t), resolve(true)));
  });
  return { socket, closed };
}

function announce(socket: net.Socket): Promise<string> {
  const q = `info_hash=${percentEncode(randomBytes(20))}&peer_id=${percentEncode(randomBytes(20))}&port=6881&left=1&compact=1`;
  socket.write(`GET /announce?${q} HTTP/1.1\r\nHost: t\r\n\r\n`);
  return new Promise((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
}

test('one address opening many connections is cut off; another address is still answered', { timeout: 20_000 }, async () => {
  await withTracker({ maxConnections: 8, maxConnectionsPerAddress: 2, exempt: [] }, async (port) => {
    const flood = await Promise.all(Array.from({ length: 8 }, () => open(port, '127.0.0.2')));
    const kept = flood.filter((c) => !c.closed);
    // Its own cap binds once half of the slots are in use (SlotPool): 4 kept, the rest closed.
    assert.equal(kept.length, 4, `${kept.length} of 8 kept`);
    const other = await open(port, '127.0.0.3');
    assert.equal(other.closed, false, 'a second address is taken');
    assert.match(await announce(other.socket), /^HTTP\/1\.1 200 OK[\s\S]*d8:complete/);
    // A closed connection gives its slot back.
    for (const c of kept) c.socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const again = await open(port, '127.0.0.2');
    assert.equal(again.closed, false);
    for (const c of [...flood, other, again]) c.socket.destroy();
  });
});

test('exempt addresses count only in the total', { timeout: 20_000 }, async () => {
  await withTracker({ maxConnections: 6, maxConnectionsPerAddress: 1, exempt: [parseCidr('127.0.0.2')] }, async (port) => {
    const all = await Promise.all(Array.from({ length: 8 }, () => open(port, '127.0.0.2')));
    assert.equal(all.filter((c) => !c.closed).length, 6, 'up to the total');
    for (const c of all) c.socket.destroy();
  });
});
