/**
 * Hostile uTP traffic at a PeerNode's UDP port (issue #15): junk datagrams, packets for unknown
 * connection ids, hostile bytes over an established uTP connection (garbage, MSE with a wrong VC
 * ...), a SYN flood from many source ports and from many addresses, a SYN then silence. No
 * crash, connections bounded, the bad ones closed unanswered; a normal uTP client, plain and
 * through MSE, is served an exact block after each. The TCP side is in transports-hostile.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { BLOCK_SIZE, encodeHandshake } from '../../src/peer/wire/messages.ts';
import { UtpEndpoint } from '../../src/peer/utp/endpoint.ts';
import { decodePacket, encodePacket, type HeaderFields, ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN } from '../../src/peer/utp/packet.ts';
import { clientPeerId, expected, makeSeed, sleep, until, type Seed } from '../support/wire-peer.ts';
import { BT_HEADER, fetchBlock, fetchBlockMse, hostileMse, MAX_DH_REPLY, tcpConnect, watch, type Watched } from '../support/transport-clients.ts';
import type { RawFields } from './mse/raw-mse.ts';

const MiB = 1024 * 1024;
const WANT = { index: 16, begin: BLOCK_SIZE, length: 20_000 - BLOCK_SIZE }; // the short last block
let seed: Seed;
/** `address:port` of every incoming connection the node answered a BitTorrent handshake to. */
const answered = new Set<string>();
const clients = new Map<string, UtpEndpoint>();
const raws: RawUdp[] = [];

/** A raw UDP socket on `host` that records every datagram the node sends it. */
interface RawUdp {
  sock: dgram.Socket;
  got: Buffer[];
  sentAt: number;
  send(b: Buffer): void;
}

async function rawUdp(host: string): Promise<RawUdp> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, host, () => r()));
  const raw: RawUdp = { sock, got: [], sentAt: 0, send: (b) => void ((raw.sentAt = Date.now()), sock.send(b, seed.node.port, '127.0.0.1')) };
  sock.on('message', (m) => raw.got.push(m));
  raws.push(raw);
  return raw;
}

const packet = (over: Partial<HeaderFields>, payload?: Buffer) =>
  encodePacket({ type: ST_DATA, connectionId: 1, timestamp: 1, timestampDiff: 0, wndSize: 65536, seqNr: 1, ackNr: 0, ...over }, payload);

/** A uTP client endpoint on `host`, one per address. */
async function client(host: string): Promise<UtpEndpoint> {
  let ep = clients.get(host);
  if (!ep) clients.set(host, (ep = await UtpEndpoint.bind(0, host)));
  return ep;
}

let synSilence: RawUdp;

before(async () => {
  seed = await makeSeed(); // transport both, encryption allow: uTP on the TCP port's number
  seed.node.onWire((c) => answered.add(`${c.socket.remoteAddress}:${c.socket.remotePort}`));
  // A SYN, then silence: opened first so that its deadline runs while the other cases do.
  synSilence = await rawUdp('127.0.0.5');
  synSilence.send(packet({ type: ST_SYN, connectionId: 4242, seqNr: 100 }));
});

after(async () => {
  for (const r of raws) r.sock.close();
  await Promise.all([...clients.values()].map((ep) => ep.close()));
  await seed?.remove();
});

/** A normal uTP client from `host`, plain then MSE (RC4), each served the block exact. */
async function assertServedUtp(host = '127.0.0.1'): Promise<void> {
  const ep = await client(host);
  const want = expected(seed, WANT.index, WANT.begin, WANT.length);
  const plain = await ep.connect('127.0.0.1', seed.node.port, { timeoutMs: 3000 });
  try {
    assert.ok((await fetchBlock(plain, seed.meta.infoHash, WANT)).equals(want), `uTP from ${host}: block exact`);
  } finally {
    plain.destroy();
  }
  const enc = await ep.connect('127.0.0.1', seed.node.port, { timeoutMs: 3000 });
  try {
    const { block, selected } = await fetchBlockMse(enc, seed.meta.infoHash, WANT);
    assert.equal(selected, 'rc4');
    assert.ok(block.equals(want), `MSE over uTP from ${host}: block exact`);
  } finally {
    enc.destroy();
  }
}

/** Every datagram the node sent `raw` is a 20-byte RESET: never more than came in, never data. */
function onlyResets(raw: RawUdp, what: string): void {
  for (const b of raw.got) {
    assert.equal(b.length, 20, `${what}: a ${b.length}-byte answer`);
    assert.equal(decodePacket(b).type, ST_RESET, `${what}: only RESETs`);
  }
}

test('a normal uTP client is served, plain and through MSE', async () => {
  await assertServedUtp();
});

test('junk datagrams at the UDP port: dropped or RESET, no connection, no crash; a client is served after', async () => {
  const raw = await rawUdp('127.0.0.3');
  for (let i = 0; i < 300; i++) {
    const junk = randomBytes(Math.floor(Math.random() * 1500));
    if (junk.length > 0 && junk[0] === 0x41) junk[0] = 0x42; // a random SYN would be a fair connection
    raw.send(junk);
  }
  for (let type = 5; type < 16; type++) raw.send(Buffer.concat([Buffer.from([(type << 4) | 1]), randomBytes(40)]));
  for (let v = 0; v < 16; v++) if (v !== 1) raw.send(packet({ type: ST_SYN }).fill((ST_SYN << 4) | v, 0, 1)); // SYNs of other versions
  raw.send(packet({ type: ST_SYN }).subarray(0, 19)); // a truncated header
  const chain = packet({ type: ST_SYN }, Buffer.alloc(40, 1)); // an extension chain that never ends
  chain[1] = 2;
  raw.send(chain);
  const truncated = packet({ type: ST_SYN }, Buffer.from([0, 200, 1, 2])); // an extension longer than the datagram
  truncated[1] = 1;
  raw.send(truncated);
  await sleep(300);
  onlyResets(raw, 'junk');
  assert.equal(seed.node.connections.wire, 0, 'no wire slot taken (a SYN alone, the silent one, takes none)');
  await assertServedUtp();
});

test('packets for unknown connection ids: at most a rate-limited 20-byte RESET each; a client is served after', async () => {
  const raw = await rawUdp('127.0.0.3');
  raw.got.length = 0;
  const types = [ST_DATA, ST_STATE, ST_FIN] as const;
  for (let i = 0; i < 1000; i++) raw.send(packet({ type: types[i % 3]!, connectionId: 10_000 + i, seqNr: i }, Buffer.alloc(1000)));
  await sleep(300);
  onlyResets(raw, 'unknown ids');
  assert.ok(raw.got.length <= 60, `${raw.got.length} RESETs for 1000 packets (50 a second at most)`);
  assert.equal(seed.node.connections.wire, 0);
  await assertServedUtp();
});

/** A uTP connection from its own endpoint that sends what `act` says; returns what came back. */
async function hostileOverUtp(act: (s: Duplex) => Promise<Watched> | Watched, what: string): Promise<void> {
  const ep = await client('127.0.0.4');
  const s = await ep.connect('127.0.0.1', seed.node.port, { timeoutMs: 3000 });
  const t0 = Date.now();
  const w = await act(s);
  await Promise.race([w.closed, sleep(2000)]);
  const took = (w.closedAt ?? Infinity) - t0;
  s.destroy();
  assert.ok(took <= 2000, `${what}: closed after ${took} ms`);
  assert.ok(w.bytesIn <= MAX_DH_REPLY, `${what}: the node sent ${w.bytesIn} bytes`);
  assert.equal(w.received.indexOf(BT_HEADER), -1, `${what}: no BitTorrent handshake`);
  assert.ok(![...answered].some((a) => a.startsWith('127.0.0.4:')), `${what}: no handshake answered`);
}

const sending = (bytes: Buffer) => (s: Duplex) => {
  const w = watch(s);
  s.write(bytes);
  return w;
};
const mse = (fields: Partial<RawFields>) => (s: Duplex) => hostileMse(s, { infoHash: seed.meta.infoHash, ...fields });

test('hostile bytes over an established uTP connection: garbage, wrong VC, PadC over 512, unknown SKEY, unknown torrent', async () => {
  await hostileOverUtp(sending(Buffer.concat([Buffer.from([0]), randomBytes(799)])), 'garbage over uTP');
  await hostileOverUtp(sending(Buffer.from('GET / HTTP/1.1\r\n\r\n')), 'HTTP over uTP');
  await hostileOverUtp(sending(encodeHandshake(randomBytes(20), clientPeerId())), 'a handshake for an unknown torrent over uTP');
  await hostileOverUtp(mse({ vc: Buffer.from('notzeros') }), 'a wrong VC over uTP');
  await hostileOverUtp(mse({ padCLength: 513 }), 'PadC of 513 over uTP');
  await hostileOverUtp(mse({ infoHash: randomBytes(20) }), 'an unknown SKEY over uTP');
  await until(() => seed.node.connections.wire === 0, 2000, 'the hostile uTP connections to be freed');
  await assertServedUtp();
});

/** SYNs with distinct connection ids, `perPort` from each of `ports` raw sockets on `host`. */
async function synFlood(host: string, ports: number, perPort: number): Promise<RawUdp[]> {
  const socks = await Promise.all(Array.from({ length: ports }, () => rawUdp(host)));
  socks.forEach((r, i) => {
    for (let k = 0; k < perPort; k++) r.send(packet({ type: ST_SYN, connectionId: (i * perPort + k) & 0xffff, seqNr: 7 }));
  });
  return socks;
}

test('a SYN flood from 100 source ports of one address: that address is capped, another is served', async () => {
  const rss0 = process.memoryUsage().rss;
  const wire0 = seed.node.connections.wire;
  const flood = await synFlood('127.0.0.1', 100, 2);
  await sleep(300);
  const accepted = flood.filter((r) => r.got.some((b) => decodePacket(b).type === ST_STATE)).length;
  assert.ok(seed.node.connections.wire - wire0 <= 16, `${seed.node.connections.wire - wire0} connections from one address`);
  assert.ok(accepted >= 8 && accepted <= 16, `${accepted} of the flooding ports got an answer to their SYN`);
  await assert.rejects((await client('127.0.0.1')).connect('127.0.0.1', seed.node.port, { timeoutMs: 1500 }), 'the flooding address is at its cap');
  await assertServedUtp('127.0.0.2');
  assert.ok(process.memoryUsage().rss - rss0 < 64 * MiB, 'bounded memory');
});

test(
  'a SYN flood from 25 addresses (spoofable over UDP) leaves fresh addresses served, over TCP and uTP',
  async () => {
    for (let a = 1; a <= 25; a++) await synFlood(`127.0.1.${a}`, 1, 16); // 400 datagrams of 20 bytes
    await sleep(300);
    const wire = seed.node.connections.wire;
    assert.ok(wire <= 200, `${wire} wire connections (max 200)`);
    const t = await tcpConnect(seed.node.port, '127.0.0.6');
    const tcp = await fetchBlock(t, seed.meta.infoHash, WANT, { timeoutMs: 2000 }).then(
      (b) => (b.equals(expected(seed, WANT.index, WANT.begin, WANT.length)) ? 'served' : 'wrong block'),
      (e: Error) => e.message,
    );
    t.destroy();
    const utp = await assertServedUtp('127.0.0.7').then(
      () => 'served',
      (e: Error) => e.message,
    );
    assert.deepEqual({ tcp, utp }, { tcp: 'served', utp: 'served' }, `with ${wire} wire slots taken by SYNs`);
  },
);

test('a SYN then silence is reset (5 s first-byte deadline, or sooner: the floods evict SYN-only connections); the flooding address is served again', async () => {
  const state = synSilence.got.find((b) => decodePacket(b).type === ST_STATE);
  assert.ok(state, 'the SYN was answered');
  await until(() => synSilence.got.some((b) => decodePacket(b).type === ST_RESET), 7_000 - (Date.now() - synSilence.sentAt), 'a RESET for the silent connection');
  await until(() => seed.node.connections.wire === 0, 3000, 'every flood connection to be freed');
  await assertServedUtp('127.0.0.1');
  const t = await tcpConnect(seed.node.port);
  try {
    assert.ok((await fetchBlock(t, seed.meta.infoHash, WANT)).equals(expected(seed, WANT.index, WANT.begin, WANT.length)), 'TCP too');
  } finally {
    t.destroy();
  }
});
