/** Hostile and broken peers against acceptMse / initiateMse over loopback TCP. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type net from 'node:net';
import { acceptMse, initiateMse, MseError } from '../../../src/peer/mse/index.ts';
import { firstChunk, settle, socketPair } from './loopback.ts';
import { type RawFields, rawInitiator } from './raw-mse.ts';

const IH = randomBytes(20);

/** Run acceptMse on the server side of a fresh pair while `client` does what the test says. */
async function accept(client: (socket: net.Socket) => Promise<void> | void, timeoutMs = 10_000) {
  const pair = await socketPair();
  const clientClosed = new Promise((resolve) => pair.client.once('close', resolve));
  pair.client.on('error', () => {});
  pair.client.resume(); // read whatever comes, so the client sees the server's close
  const result = settle(firstChunk(pair.server).then((first) => acceptMse(pair.server, first, { policy: 'allow', infoHashes: () => [IH], timeoutMs })));
  await client(pair.client);
  const outcome = await result;
  return { outcome, pair, clientClosed };
}

/** A raw initiator over the socket: opening, wait for Yb, then the (broken) third message. */
function rawClient(fields: Partial<RawFields>, after = Buffer.alloc(0)) {
  return async (socket: net.Socket) => {
    const raw = rawInitiator({ infoHash: IH, ...fields });
    socket.write(raw.opening);
    let fromB = Buffer.alloc(0);
    while (fromB.length < 96) fromB = Buffer.concat([fromB, (await once(socket, 'data'))[0] as Buffer]);
    socket.write(Buffer.concat([raw.third(fromB).bytes, after]));
  };
}

async function expectRefused(client: (socket: net.Socket) => Promise<void> | void, pattern: RegExp, timeoutMs?: number) {
  const { outcome, pair, clientClosed } = await accept(client, timeoutMs);
  assert.ok(outcome.error instanceof MseError, `expected MseError, got ${outcome.error ?? 'success'}`);
  assert.match(outcome.error.message, pattern);
  assert.ok(pair.server.destroyed, 'the connection is closed');
  await clientClosed; // the peer sees it closed
  await pair.close();
}

test('garbage opening: refused once the sync window passes without HASH(req1, S)', async () => {
  await expectRefused((s) => void s.write(randomBytes(2000)), /req1/);
});

test('wrong VC, PadC over 512, IA over the bound, unknown info hash: each refused', async () => {
  await expectRefused(rawClient({ vc: Buffer.from('notzeros') }), /verification constant/);
  await expectRefused(rawClient({ padCLength: 513 }), /PadC of 513/);
  await expectRefused(rawClient({ ia: randomBytes(2000) }), /IA of 2000/);
  await expectRefused(rawClient({ infoHash: randomBytes(20) }), /do not serve/);
  await expectRefused(rawClient({ provide: 0 }), /no method/);
});

test('a peer that stalls mid-handshake meets the deadline', async () => {
  const t0 = Date.now();
  await expectRefused(rawClient({ wrongReq1: true }), /within 300 ms/, 300); // Ya, then 20 useless bytes
  await expectRefused((s) => void s.write(randomBytes(96)), /within 300 ms/, 300); // Ya only
  assert.ok(Date.now() - t0 < 3000, `both refusals within 3 s: ${Date.now() - t0} ms`);
});

test('a truncated Ya (the peer closes after 50 bytes) is refused as closed', async () => {
  await expectRefused((s) => void s.end(randomBytes(50)), /closed/);
});

test('a flood of bytes is refused at once, not buffered', async () => {
  await expectRefused((s) => {
    const junk = randomBytes(1 << 20);
    for (let k = 0; k < 16; k++) s.write(junk);
  }, /req1/);
});

test('plaintext selected (a peer offering only plaintext): the socket itself, IA decrypted', async () => {
  const ia = Buffer.from('IA: a BitTorrent handshake');
  const after = Buffer.from('plain bytes after IA');
  const { outcome, pair } = await accept(rawClient({ provide: 1, ia }, after));
  assert.equal(outcome.value?.selected, 'plaintext');
  assert.equal(outcome.value.stream, pair.server);
  let initial = outcome.value.initial;
  while (initial.length < ia.length + after.length) initial = Buffer.concat([initial, (await once(pair.server.resume(), 'data'))[0] as Buffer]);
  assert.ok(initial.equals(Buffer.concat([ia, after])), 'initial holds IA and the bytes after it');
  await pair.close();
});

test('the initiator: a silent responder meets the deadline, a closing one is refused', async () => {
  const pair = await socketPair();
  pair.server.on('data', () => {}); // reads, never answers
  const t0 = Date.now();
  await assert.rejects(initiateMse(pair.client, IH, { policy: 'require', timeoutMs: 300 }), /within 300 ms/);
  assert.ok(Date.now() - t0 < 2000, `the 300 ms deadline refused within 2 s: ${Date.now() - t0} ms`);
  assert.ok(pair.client.destroyed, 'the client socket is destroyed after the deadline');
  await pair.close();
  const pair2 = await socketPair();
  pair2.server.once('data', () => pair2.server.end(randomBytes(40)));
  await assert.rejects(initiateMse(pair2.client, IH, { policy: 'prefer' }), /closed/);
  await pair2.close();
  const pair3 = await socketPair();
  pair3.server.once('data', () => pair3.server.write(randomBytes(2000))); // Yb then no ENCRYPT(VC)
  await assert.rejects(initiateMse(pair3.client, IH, { policy: 'prefer' }), /ENCRYPT\(VC\)/);
  await pair3.close();
});
