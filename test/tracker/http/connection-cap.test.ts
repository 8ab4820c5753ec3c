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

interface Conn {
  socket: net.Socket;
  closed: boolean;
}

/** A connection from `from`, once connected; `closed` turns true when the server closes it. */
async function open(port: number, from: string): Promise<Conn> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  socket.on('error', () => {});
  const conn: Conn = { socket, closed: false };
  socket.once('close', () => (conn.closed = true));
  await new Promise((resolve) => socket.once('connect', resolve));
  return conn;
}

/**
 * Wait until at least `n` of `conns` were closed by the server (a loaded machine may take a
 * while to tell), then a little longer so that one closed too many would show.
 */
async function settled(conns: Conn[], n: number): Promise<Conn[]> {
  const deadline = Date.now() + 5000;
  while (conns.filter((c) => c.closed).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300));
  return conns.filter((c) => !c.closed);
}

function announce(socket: net.Socket): Promise<string> {
  const q = `info_hash=${percentEncode(randomBytes(20))}&peer_id=${percentEncode(randomBytes(20))}&port=6881&left=1&compact=1`;
  socket.write(`GET /announce?${q} HTTP/1.1\r\nHost: t\r\n\r\n`);
  return new Promise((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
}

test('one address opening many connections is cut off; another address is still answered', { timeout: 20_000 }, async () => {
  await withTracker({ maxConnections: 8, maxConnectionsPerAddress: 2, exempt: [] }, async (port) => {
    const flood = await Promise.all(Array.from({ length: 8 }, () => open(port, '127.0.0.2')));
    const kept = await settled(flood, 4);
    // Its own cap binds once half of the slots are in use (SlotPool): 4 kept, the rest closed.
    assert.equal(kept.length, 4, `${kept.length} of 8 kept`);
    const other = await open(port, '127.0.0.3');
    assert.equal((await settled([other], 0)).length, 1, 'a second address is taken');
    assert.match(await announce(other.socket), /^HTTP\/1\.1 200 OK[\s\S]*d8:complete/);
    // A closed connection gives its slot back.
    for (const c of kept) c.socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const again = await open(port, '127.0.0.2');
    assert.equal((await settled([again], 0)).length, 1, 'a slot given back is taken again');
    for (const c of [...flood, other, again]) c.socket.destroy();
  });
});

test('exempt addresses count only in the total', { timeout: 20_000 }, async () => {
  await withTracker({ maxConnections: 6, maxConnectionsPerAddress: 1, exempt: [parseCidr('127.0.0.2')] }, async (port) => {
    const all = await Promise.all(Array.from({ length: 8 }, () => open(port, '127.0.0.2')));
    assert.equal((await settled(all, 2)).length, 6, 'up to the total');
    for (const c of all) c.socket.destroy();
  });
});
