/**
 * The UDP tracker in the real program (`node dist/tracker.js`): on by default on the HTTP port's
 * number, `--udp-port`, `--no-udp`, a taken UDP port refused with a clear message, and one
 * `--secret` shared by two processes: an id minted by one is accepted by the other.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { TestScope, freePort, within } from '../../support/procs.ts';
import { UdpProbe, announcePacket, connectPacket, readAnnounceAnswer } from './udp-probe.ts';

const scope = new TestScope();
const probes: UdpProbe[] = [];
after(async () => {
  for (const p of probes) p.close();
  await scope.cleanup();
});

async function tracker(args: string[]) {
  const proc = scope.spawn('tracker', args, { cwd: await scope.dir() });
  await proc.waitFor(/Running on/);
  return proc;
}

async function probe(port: number): Promise<UdpProbe> {
  const p = await UdpProbe.open('127.0.0.1', port);
  probes.push(p);
  return p;
}

test('UDP is on by default on the HTTP port number; --udp-port moves it; --no-udp turns it off', async () => {
  const port = await freePort();
  await tracker(['--port', String(port)]);
  await (await probe(port)).connect();

  const [httpPort, udpPort] = [await freePort(), await freePort()];
  await tracker(['--port', String(httpPort), '--udp-port', String(udpPort)]);
  await (await probe(udpPort)).connect();
  assert.equal(await (await probe(httpPort)).ask(connectPacket(1), 500), null, 'nothing on the HTTP port number');

  const off = await freePort();
  await tracker(['--port', String(off), '--no-udp']);
  assert.equal(await (await probe(off)).ask(connectPacket(2), 500), null, 'no UDP tracker');
});

test('a taken UDP port: the program exits non-zero with "cannot listen on HOST:PORT: the UDP port is in use"', async () => {
  const [httpPort, udpPort] = [await freePort(), await freePort()];
  const squatter = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => squatter.bind(udpPort, '127.0.0.1', resolve));
  try {
    const proc = scope.spawn('tracker', ['--port', String(httpPort), '--udp-port', String(udpPort)], { cwd: await scope.dir() });
    const code = await within(proc.exited, 20_000, 'the tracker to exit');
    assert.notEqual(code, 0);
    assert.match(proc.err(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${udpPort}: the UDP port is in use by another program; choose another with --udp-port \\(or --no-udp\\)`));
    assert.doesNotMatch(proc.out(), /Running on/);
  } finally {
    squatter.close();
  }
});

test('two processes with one --secret: an id from one is good at the other; without it, refused', async () => {
  const secret = randomBytes(16).toString('hex');
  const [a, b, c] = [await freePort(), await freePort(), await freePort()];
  await tracker(['--port', String(a), '--secret', secret]);
  await tracker(['--port', String(b), '--secret', secret]);
  await tracker(['--port', String(c)]);
  // One client socket talks to all three (ids are bound to the client's address and port).
  const p = await probe(a);
  const id = await p.connect();
  const hash = randomBytes(20);
  const ask = (port: number) => {
    const packet = announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, port: 7000 });
    p.socket.send(packet, port, '127.0.0.1');
    return p.receive(packet.readUInt32BE(12));
  };
  assert.equal((await ask(a))?.readUInt32BE(0), 1, 'the process that minted it');
  const atB = readAnnounceAnswer((await ask(b))!, 6);
  assert.deepEqual([atB.leechers, atB.seeders], [1, 0], 'a process with the same secret (its own store: the announcer alone)');
  const other = await ask(c);
  assert.equal(other?.readUInt32BE(0), 3, 'a process with its own random key refuses it');
});
