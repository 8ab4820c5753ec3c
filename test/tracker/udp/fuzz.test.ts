/**
 * Fuzzing the real tracker program's UDP side (`node dist/tracker.js --port P`): random,
 * truncated, mutated and oversized datagrams, first without a connection id (only error packets,
 * or connect answers to connects, may come back, never longer than what was sent), then with a
 * valid one (error packets, or well-formed answers of the action asked). The process never
 * exits, and answers a normal connect and announce afterwards.
 *
 * Cases come from fast-check with this run's seed (printed on failure; `FUZZ_SEED=<n>` replays).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { SEED, runs } from '../../support/fuzz.ts';
import { TestScope, freePort } from '../../support/procs.ts';
import { UDP_IOS } from './udp-world.ts';
import { UdpProbe, announcePacket, connectPacket, readAnnounceAnswer, scrapePacket, urlDataOptions } from './udp-probe.ts';

const scope = new TestScope();
after(() => scope.cleanup());

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((u) => Buffer.from(u));

/** A valid-looking packet with `id` (null: a random one), before damage. */
function packetArb(id: Buffer | null): fc.Arbitrary<Buffer> {
  const idArb = id ? fc.constant(id) : bytes(8, 8);
  const announce = fc
    .record({ id: idArb, tid: u32, hash: bytes(20, 20), event: fc.constantFrom(0, 1, 2, 3, 4, 0xffffffff), left: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), numwant: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), port: fc.integer({ min: 0, max: 65535 }), ip: u32, options: fc.oneof(fc.constant(Buffer.alloc(0)), bytes(0, 40), fc.string({ maxLength: 600 }).map(urlDataOptions)) })
    .map((f) => announcePacket({ connectionId: f.id, transactionId: f.tid, infoHash: f.hash, event: f.event, left: f.left, numwant: f.numwant, port: f.port, ip: f.ip, options: f.options }));
  const scrape = fc.record({ id: idArb, tid: u32, hashes: fc.array(bytes(20, 20), { maxLength: 80 }) }).map((f) => scrapePacket(f.id, f.tid, f.hashes));
  const connect = fc.record({ tid: u32, tail: bytes(0, 30) }).map((f) => Buffer.concat([connectPacket(f.tid), f.tail]));
  const header = fc.record({ id: idArb, action: fc.oneof(fc.constantFrom(0, 1, 2, 3), u32), tid: u32, body: bytes(0, 120) }).map((f) => {
    const h = Buffer.alloc(16);
    f.id.copy(h);
    h.writeUInt32BE(f.action, 8);
    h.writeUInt32BE(f.tid, 12);
    return Buffer.concat([h, f.body]);
  });
  return fc.oneof(announce, scrape, connect, header);
}

/** Damage: none, a cut, flipped bytes, or junk appended (oversized datagrams included). */
function damaged(p: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.tuple(p, fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }), fc.constantFrom(0, 0, 0, 1, 2)).chain(([b, cut, flips, mode]) => {
    if (mode === 1) return fc.constant(b.subarray(0, cut % (b.length + 1)));
    if (mode === 2) return bytes(1, 64).map((j) => Buffer.concat([b, j]));
    const out = Buffer.from(b);
    for (const [at, x] of flips) if (out.length) out[at % out.length]! ^= x;
    return fc.constant(out);
  });
}

const junk = fc.oneof({ weight: 3, arbitrary: bytes(0, 40) }, { weight: 2, arbitrary: bytes(40, 1500) }, { weight: 5, arbitrary: damaged(packetArb(null)) });

/** Send every datagram (in bursts), and gather the answers by transaction id. */
async function fire(p: UdpProbe, datagrams: Buffer[]): Promise<Array<{ sent: Buffer[]; answer: Buffer }>> {
  const answers: Buffer[] = [];
  for (let i = 0; i < datagrams.length; i += 50) {
    for (const d of datagrams.slice(i, i + 50)) p.send(d);
    for (let a = await p.receive(null, 30); a; a = await p.receive(null, 30)) answers.push(a);
  }
  for (let a = await p.receive(null, 300); a; a = await p.receive(null, 300)) answers.push(a);
  const byTid = new Map<number, Buffer[]>();
  for (const d of datagrams) {
    if (d.length < 16) continue;
    const tid = d.readUInt32BE(12);
    byTid.set(tid, [...(byTid.get(tid) ?? []), d]);
  }
  return answers.map((answer) => ({ sent: answer.length >= 8 ? (byTid.get(answer.readUInt32BE(4)) ?? []) : [], answer }));
}

// Once per UDP I/O path of the program: the native batch addon (when built), node:dgram.
for (const io of UDP_IOS) test(`the tracker program under fuzzed UDP datagrams (${io}): only bounded answers, no crash, still serving`, async (t) => {
  const port = await freePort();
  const dir = await scope.dir();
  const proc = scope.spawn('tracker', ['--port', String(port)], { cwd: dir, env: { P2P_UDP_BATCH: io === 'batch' ? '1' : '0' } });
  await proc.waitFor(/Running on/);
  const p = await UdpProbe.open('127.0.0.1', port);
  t.after(() => p.close());

  // Without a valid id: nothing longer than what was sent, and only error or connect answers.
  const blind = fc.sample(junk, { seed: SEED, numRuns: runs(3000) });
  blind.push(randomBytes(65507), Buffer.concat([connectPacket(1), randomBytes(60000)]));
  for (const { sent, answer } of await fire(p, blind)) {
    assert.ok(sent.length > 0, `an answer to nothing sent (seed ${SEED}): ${answer.subarray(0, 32).toString('hex')}`);
    const action = answer.readUInt32BE(0);
    assert.ok(action === 3 || (action === 0 && answer.length === 16), `unauthenticated answer of action ${action} (seed ${SEED})`);
    assert.ok(answer.length <= Math.max(...sent.map((s) => s.length)), `amplified answer (seed ${SEED})`);
  }

  // With a valid id: error packets, or answers of the shape of the action asked.
  const id = await p.connect();
  const informed = fc.sample(damaged(packetArb(id)), { seed: SEED + 1, numRuns: runs(2000) });
  let wellFormed = 0;
  for (const { sent, answer } of await fire(p, informed)) {
    assert.ok(sent.length > 0, `an answer to nothing sent (seed ${SEED})`);
    const action = answer.readUInt32BE(0);
    assert.ok(action <= 3, `action ${action} (seed ${SEED})`);
    if (action === 1) assert.equal((answer.length - 20) % 6, 0);
    if (action === 2) assert.equal((answer.length - 8) % 12, 0);
    if (action === 0) assert.equal(answer.length, 16);
    if (action !== 3) wellFormed++;
  }
  t.diagnostic(`${blind.length + informed.length} datagrams, ${wellFormed} well-formed answers with a valid id (seed ${SEED})`);
  assert.ok(wellFormed > 0, 'the valid-id cases reached the service');

  assert.equal(proc.child.exitCode, null, `the tracker exited: ${proc.err()}`);
  const hash = randomBytes(20);
  const fresh = await p.connect();
  const a = await p.ask(announcePacket({ connectionId: fresh, transactionId: p.tid(), infoHash: hash, port: 7000 }));
  assert.deepEqual(readAnnounceAnswer(a!, 6), { interval: 1800, leechers: 1, seeders: 0, peers: [] });
  assert.doesNotMatch(proc.err(), /internal error|Uncaught|TypeError|RangeError/, proc.err());
});
