/** The uTP endpoint (src/peer/utp/endpoint.ts) against hostile datagrams: limits, resets, junk, the non-uTP hook. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { UtpEndpoint } from '../../../src/peer/utp/endpoint.ts';
import { decodePacket, encodePacket, type HeaderFields, ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN } from '../../../src/peer/utp/packet.ts';
import type { UtpSocket } from '../../../src/peer/utp/utp-socket.ts';
import { connected, endpoints } from './helpers.ts';

/** A raw UDP socket on loopback that records what comes back. */
async function rawSocket(host = '127.0.0.1') {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, host, () => r()));
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  return { sock, got, send: (b: Buffer, port: number) => sock.send(b, port, '127.0.0.1'), close: () => new Promise<void>((r) => sock.close(() => r())) };
}

const packet = (over: Partial<HeaderFields>, payload?: Buffer) =>
  encodePacket({ type: ST_DATA, connectionId: 1, timestamp: 1, timestampDiff: 0, wndSize: 65536, seqNr: 1, ackNr: 0, ...over }, payload);

test('packets for unknown connections get one 20-byte RESET each at most, rate-limited; RESETs get nothing', async () => {
  const ep = await UtpEndpoint.bind(0, '127.0.0.1', { resetsPerSecond: 10 });
  const raw = await rawSocket();
  try {
    for (let i = 0; i < 200; i++) raw.send(packet({ connectionId: i, seqNr: i }, Buffer.alloc(1000)), ep.address().port);
    for (let i = 0; i < 50; i++) raw.send(packet({ type: ST_RESET, connectionId: 5000 + i }), ep.address().port);
    await sleep(300);
    assert.ok(raw.got.length >= 1 && raw.got.length <= 11, `${raw.got.length} resets for 250 unsolicited packets`);
    for (const b of raw.got) {
      assert.equal(b.length, 20, 'never bigger than what came in');
      const p = decodePacket(b);
      assert.equal(p.type, ST_RESET);
      assert.ok(p.connectionId < 200, 'a RESET is never answered');
    }
  } finally {
    await raw.close();
    await ep.close();
  }
});

test('a SYN flood from many ports and two addresses: the per-address and total caps hold, retransmitted SYNs are not new connections', async () => {
  const ep = await UtpEndpoint.bind(0, '127.0.0.1', { maxConnections: 40, maxPerAddress: 30, resetsPerSecond: 1000, maxHalfOpen: 1000 });
  const accepted: UtpSocket[] = [];
  ep.on('connection', (s: UtpSocket) => {
    accepted.push(s);
    s.on('error', () => {});
  });
  // All of 127.0.0.0/8 is loopback on Linux: two source addresses, 40 ports each.
  const first = await Promise.all(Array.from({ length: 40 }, () => rawSocket('127.0.0.1')));
  const second = await Promise.all(Array.from({ length: 40 }, () => rawSocket('127.0.0.2')));
  try {
    const heap0 = process.memoryUsage().heapUsed;
    const flood = (raws: typeof first, base: number) =>
      raws.forEach((r, i) => {
        for (let k = 0; k < 3; k++) r.send(packet({ type: ST_SYN, connectionId: base + i, seqNr: 7 }), ep.address().port);
      });
    flood(first, 100);
    await sleep(300);
    assert.equal(ep.connectionCount, 30, 'one address gets at most maxPerAddress');
    flood(second, 500);
    await sleep(300);
    assert.equal(ep.connectionCount, 40, 'and all addresses at most maxConnections');
    assert.equal(accepted.length, 40, 'a retransmitted SYN is acked again, not accepted again');
    const answers = [...first, ...second].map((r) => r.got.map((b) => decodePacket(b)));
    assert.equal(answers.filter((ps) => ps.length > 0 && ps.every((p) => p.type === ST_STATE && p.ackNr === 7)).length, 40);
    assert.equal(answers.filter((ps) => ps.length > 0 && ps.every((p) => p.type === ST_RESET)).length, 40);
    assert.ok(process.memoryUsage().heapUsed - heap0 < 64 << 20, 'bounded memory');
    accepted[0]!.destroy();
    assert.equal(ep.connectionCount, 39, 'a closed connection frees its place');
  } finally {
    await Promise.all([...first, ...second].map((r) => r.close()));
    await ep.close();
  }
});

test('SYN-only connections are capped (maxHalfOpen): the oldest is reset to make room; one that sent data is kept', async () => {
  const ep = await UtpEndpoint.bind(0, '127.0.0.1', { maxHalfOpen: 4, maxPerAddress: 100, resetsPerSecond: 1000 });
  const accepted: UtpSocket[] = [];
  ep.on('connection', (s: UtpSocket) => {
    accepted.push(s);
    s.on('error', () => {});
  });
  const raws = await Promise.all(Array.from({ length: 10 }, () => rawSocket('127.0.0.1')));
  try {
    raws.forEach((r, i) => r.send(packet({ type: ST_SYN, connectionId: 700 + i, seqNr: 7 }), ep.address().port));
    await sleep(300);
    assert.equal(accepted.length, 10, 'every SYN was accepted in turn');
    assert.equal(ep.connectionCount, 4, 'but only the newest 4 SYN-only connections are kept');
    const reset = raws.filter((r) => r.got.some((b) => decodePacket(b).type === ST_RESET)).length;
    assert.equal(reset, 6, 'the 6 oldest were reset');
  } finally {
    await Promise.all(raws.map((r) => r.close()));
    await ep.close();
  }
});

test('hostile packets on a live connection: far-out seq_nr, bogus acks, garbage and truncated datagrams change nothing', async () => {
  const { a, b, close } = await endpoints();
  const raw = await rawSocket();
  try {
    const { client, server } = await connected(a, b);
    // The raw socket cannot spoof the client's port, so aim at the server through its own id space:
    // garbage to the port, and packets with the server's receive id from a stranger.
    const id = (server as unknown as { recvId: number }).recvId;
    const port = b.address().port;
    raw.send(packet({ connectionId: id, seqNr: 30000 }, Buffer.alloc(1000)), port);
    raw.send(packet({ type: ST_STATE, connectionId: id, ackNr: 12345 }), port);
    raw.send(Buffer.from([0x01, 0x00, 0x00]), port);
    raw.send(Buffer.alloc(1400, 0xff), port);
    const truncatedExt = packet({ connectionId: id });
    truncatedExt[1] = 1;
    raw.send(truncatedExt, port);
    await sleep(100);
    client.write('still fine');
    const [d] = (await once(server, 'data')) as [Buffer];
    assert.equal(d.toString(), 'still fine');
    assert.equal(b.connectionCount, 1);
  } finally {
    await raw.close();
    await close();
  }
});

test('a packet with seq_nr far outside the window is dropped, not buffered; the stream goes on', async () => {
  const { a, b, close } = await endpoints();
  try {
    const { client, server } = await connected(a, b);
    // Inject from the client's own socket (same address and port) through the endpoint's raw send.
    const s = server as unknown as { recvId: number; reorder: { ackNr: number; bytes: number } };
    for (const ahead of [2000, 20000, 40000, 65535]) {
      a.sendRaw(packet({ connectionId: s.recvId, seqNr: (s.reorder.ackNr + ahead) & 0xffff }, Buffer.alloc(1200)), b.address().port, '127.0.0.1');
    }
    await sleep(100);
    assert.equal(s.reorder.bytes, 0, 'nothing held');
    client.write('after');
    const [d] = (await once(server, 'data')) as [Buffer];
    assert.equal(d.toString(), 'after');
  } finally {
    await close();
  }
});

test('datagrams that are not uTP go to the onOtherPacket hook (the DHT shares the port); without one they are dropped', async () => {
  const ep = await UtpEndpoint.bind(0, '127.0.0.1');
  const raw = await rawSocket();
  try {
    const krpc = Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe');
    raw.send(krpc, ep.address().port);
    await sleep(50);
    const seen: Buffer[] = [];
    ep.onOtherPacket((msg, rinfo) => {
      seen.push(msg);
      ep.sendRaw(Buffer.from('d1:rd2:id20:zzzzzzzzzzzzzzzzzzzze1:t2:aa1:y1:re'), rinfo.port, rinfo.address);
    });
    raw.send(krpc, ep.address().port);
    await sleep(50);
    assert.deepEqual(seen, [krpc]);
    assert.equal(raw.got.length, 1);
    assert.equal(raw.got[0]![0], 0x64, 'the hook can answer from the same port');
  } finally {
    await raw.close();
    await ep.close();
  }
});

test('TIME_WAIT: a FIN resent after a clean close is acked again, not reset; a STATE gets nothing; after the wait, a RESET', async () => {
  const ep = await UtpEndpoint.bind(0, '127.0.0.1', { timeWaitMs: 400 });
  const raw = await rawSocket();
  const port = ep.address().port;
  const X = 1000;
  const next = async (type: number) => {
    for (let i = 0; i < 100; i++) {
      const found = raw.got.map((b) => decodePacket(b)).find((p) => p.type === type);
      if (found) return found;
      await sleep(10);
    }
    assert.fail(`no packet of type ${type} came`);
  };
  try {
    const accepted = once(ep, 'connection') as Promise<[UtpSocket]>;
    raw.send(packet({ type: ST_SYN, connectionId: X, seqNr: 100, ackNr: 0 }), port);
    const [server] = await accepted;
    const s0 = (await next(ST_STATE)).seqNr;
    server.resume();
    const ended = once(server, 'end');
    raw.send(packet({ type: ST_FIN, connectionId: X + 1, seqNr: 101, ackNr: (s0 - 1) & 0xffff }), port);
    await ended;
    raw.got.length = 0;
    const closed = once(server, 'close');
    server.end();
    const fin = await next(ST_FIN);
    assert.equal(fin.connectionId, X);
    raw.send(packet({ type: ST_STATE, connectionId: X + 1, seqNr: 102, ackNr: fin.seqNr }), port);
    await closed;
    assert.equal(server.errored, null, 'closed cleanly');
    assert.equal(ep.connectionCount, 0);

    // Our ack of the server's FIN... and the server's ack of ours was "lost": we resend our FIN.
    raw.got.length = 0;
    raw.send(packet({ type: ST_FIN, connectionId: X + 1, seqNr: 101, ackNr: fin.seqNr }), port);
    const ack = await next(ST_STATE);
    assert.deepEqual([ack.connectionId, ack.ackNr], [X, 101], 'the FIN is acked again on the connection\'s ids');
    assert.equal(raw.got.map((b) => decodePacket(b)).filter((p) => p.type === ST_RESET).length, 0);
    raw.got.length = 0;
    raw.send(packet({ type: ST_STATE, connectionId: X + 1, seqNr: 102, ackNr: fin.seqNr }), port);
    await sleep(100);
    assert.equal(raw.got.length, 0, 'a STATE of a closed connection gets nothing (no ack ping-pong)');

    await sleep(400);
    raw.send(packet({ type: ST_FIN, connectionId: X + 1, seqNr: 101, ackNr: fin.seqNr }), port);
    assert.equal((await next(ST_RESET)).connectionId, X + 1, 'after the wait the connection is unknown: RESET');
  } finally {
    await raw.close();
    await ep.close();
  }
});
