/** acceptMse / initiateMse over real loopback TCP: policies, IA, the encrypted stream. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { acceptMse, type EncryptionPolicy, EncryptedStream, initiateMse, MseError } from '../../../src/peer/mse/index.ts';
import { firstChunk, settle, socketPair } from './loopback.ts';

const IH = randomBytes(20);
const HANDSHAKE = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), IH, randomBytes(20)]);

/** Both sides of one handshake; each outcome settled. */
async function handshake(initiatorPolicy: EncryptionPolicy, responderPolicy: EncryptionPolicy) {
  const pair = await socketPair();
  const accepted = firstChunk(pair.server).then((first) =>
    acceptMse(pair.server, first, { policy: responderPolicy, infoHashes: () => [randomBytes(20), IH] }),
  );
  const [a, b] = await Promise.all([settle(initiateMse(pair.client, IH, { policy: initiatorPolicy, initialPayload: HANDSHAKE })), settle(accepted)]);
  return { pair, a, b };
}

test('policy pairs over TCP: RC4 unless the responder is off, or allows and is offered plaintext (then plaintext, as libtorrent)', async () => {
  for (const ip of ['allow', 'prefer', 'require'] as const) {
    for (const rp of ['off', 'allow', 'prefer', 'require'] as const) {
      const { pair, a, b } = await handshake(ip, rp);
      if (rp === 'off') {
        assert.ok(b.error instanceof MseError, `${ip}->${rp}`);
        assert.ok(a.error instanceof MseError, `${ip}->${rp}: ${a.error}`);
      } else {
        const want = rp === 'allow' && ip !== 'require' ? 'plaintext' : 'rc4';
        assert.equal(a.value?.selected, want, `${ip}->${rp}: ${a.error}`);
        assert.equal(b.value?.selected, want);
        assert.equal(b.value.stream instanceof EncryptedStream, want === 'rc4');
        assert.ok(b.value.infoHash.equals(IH), `${ip}->${rp}: B found the info hash`);
        assert.ok(b.value.initial.subarray(0, 68).equals(HANDSHAKE), 'IA carries the BitTorrent handshake');
      }
      await pair.close();
    }
  }
  const pair = await socketPair();
  await assert.rejects(initiateMse(pair.client, IH, { policy: 'off' }), MseError);
  assert.ok(pair.client.destroyed, 'the client socket is destroyed when MSE is refused');
  await pair.close();
});

test('after the handshake: messages both ways, remote address, nothing lost or duplicated', async () => {
  const { pair, a, b } = await handshake('prefer', 'prefer');
  const A = a.value!.stream;
  const B = b.value!.stream;
  assert.ok(A.isPaused() && B.isPaused(), 'handed over paused: nothing is lost before the reader listens');
  assert.equal(A.remotePort, pair.client.remotePort);
  assert.equal(B.remoteAddress, pair.server.remoteAddress);
  B.write(HANDSHAKE);
  B.write(Buffer.from('hello from B'));
  const got = await readBytes(A, 68 + 12, a.value!.rest);
  assert.ok(got.subarray(0, 68).equals(HANDSHAKE), "A reads B's BitTorrent handshake first");
  assert.equal(got.subarray(68).toString(), 'hello from B');
  A.write('hello from A');
  assert.equal((await readBytes(B, 12, b.value!.initial.subarray(68))).toString(), 'hello from A');
  await pair.close();
});

test('8 MiB each way at once, byte-exact, with backpressure (writableNeedDrain, drain, pause)', async () => {
  const { pair, a, b } = await handshake('require', 'require');
  const size = 8 << 20;
  const dataA = randomBytes(size);
  const dataB = randomBytes(size);
  const A = a.value!.stream;
  const B = b.value!.stream;
  const [sawDrainA, sawDrainB, gotAtB, gotAtA] = await Promise.all([
    writeAll(A, dataA),
    writeAll(B, dataB),
    digestOf(B, size, b.value!.initial.subarray(68), true),
    digestOf(A, size, a.value!.rest, false),
  ]);
  assert.equal(gotAtB, sha1(dataA));
  assert.equal(gotAtA, sha1(dataB));
  assert.ok(sawDrainA && sawDrainB, 'writes saw backpressure');
  await pair.close();
});

test('a reader that stops makes the writer stop: every buffer on the way stays bounded', async (t) => {
  const { pair, a, b } = await handshake('require', 'prefer');
  const A = a.value!.stream;
  const B = b.value!.stream;
  B.on('data', () => {});
  B.pause(); // B reads nothing; the kernel buffers fill, then A's socket, then A
  const block = randomBytes(16384);
  let written = 0;
  let stalled = false;
  while (!stalled && written < 256 << 20) {
    A.write(block);
    written += block.length;
    assert.ok(A.writableLength <= 2 * block.length, `writer buffered ${A.writableLength}`);
    if (A.writableNeedDrain) {
      stalled = await Promise.race([once(A, 'drain').then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 300))]);
    }
  }
  assert.ok(stalled, 'the writer was never held back');
  t.diagnostic(`${written} bytes accepted before the writer stalled`);
  assert.ok(written < 64 << 20, `${written} bytes accepted with nobody reading`);
  assert.ok(B.readableLength <= B.readableHighWaterMark + 65536, `reader buffered ${B.readableLength}`);
  const drained = once(A, 'drain');
  B.resume(); // and everything flows again
  await drained;
  await pair.close();
});

test('a buffer written is not changed (piece data may be shared)', async () => {
  const { pair, a, b } = await handshake('prefer', 'prefer');
  const piece = randomBytes(50_000);
  const copy = Buffer.from(piece);
  a.value!.stream.write(piece);
  a.value!.stream.cork();
  a.value!.stream.write(piece.subarray(0, 100)); // corked writes go through _writev
  a.value!.stream.write(piece.subarray(100, 300));
  a.value!.stream.uncork();
  const got = await readBytes(b.value!.stream, 50_300, b.value!.initial.subarray(68));
  assert.ok(piece.equals(copy), 'the piece written is not changed by the encryption');
  assert.ok(got.equals(Buffer.concat([piece, piece.subarray(0, 300)])), 'B reads the piece and its first 300 bytes again, decrypted');
  await pair.close();
});

test('end and destroy reach the other side as end/close; destroy closes the socket', async () => {
  const { pair, a, b } = await handshake('prefer', 'prefer');
  const B = b.value!.stream;
  B.resume();
  const ended = once(B, 'end');
  const closed = once(B, 'close');
  a.value!.stream.end('bye');
  await ended;
  await closed;
  const second = await handshake('prefer', 'prefer');
  const B2 = second.b.value!.stream;
  B2.resume(); // a reader, as the wire connection always is
  const closed2 = once(B2, 'close');
  const closedA = once(second.a.value!.stream, 'close');
  second.a.value!.stream.destroy();
  assert.ok(second.pair.client.destroyed, 'destroying the stream destroys the client socket under it');
  await Promise.all([closed2, closedA]);
  assert.ok(second.pair.server.destroyed, 'the server socket is destroyed once its peer closed');
  await pair.close();
  await second.pair.close();
});

test('a socket error reaches the stream as error then close', async () => {
  const { pair, a } = await handshake('prefer', 'prefer');
  const A = a.value!.stream;
  const failed = once(A, 'error');
  const closed = new Promise((resolve) => A.once('close', resolve)); // events.once would reject on 'error'
  pair.client.destroy(new Error('ECONNRESET (simulated)'));
  const [err] = await failed;
  assert.match((err as Error).message, /simulated/);
  await closed;
  await pair.close();
});

test('a socket error with nobody listening on the stream closes it without crashing', { timeout: 10_000 }, async () => {
  const { pair, a } = await handshake('prefer', 'prefer');
  const A = a.value!.stream;
  const closed = new Promise((resolve) => A.once('close', resolve));
  pair.client.destroy(new Error('ECONNRESET (simulated)'));
  await closed;
  assert.ok(A.destroyed, 'the stream is destroyed when its socket is reset');
  await pair.close();
});

/** The next `n` bytes (after `already`), leaving the stream open and paused. */
function readBytes(s: Duplex, n: number, already: Buffer): Promise<Buffer> {
  const parts = [already];
  let have = already.length;
  return new Promise((resolve) => {
    const onData = (c: Buffer) => {
      parts.push(c);
      have += c.length;
      if (have < n) return;
      s.off('data', onData);
      s.pause();
      resolve(Buffer.concat(parts).subarray(0, n));
    };
    if (have >= n) return resolve(Buffer.concat(parts).subarray(0, n));
    s.on('data', onData);
    s.resume(); // streams come back paused, like a socket after readHandshake
  });
}

/** Write in 16 KiB pieces, waiting for 'drain' as the uploader does; true if it ever had to. */
async function writeAll(s: Duplex, data: Buffer): Promise<boolean> {
  let waited = false;
  for (let at = 0; at < data.length; at += 16384) {
    s.write(data.subarray(at, at + 16384));
    if (s.writableNeedDrain) {
      waited = true;
      await once(s, 'drain');
    }
  }
  return waited;
}

/** SHA-1 of the next `n` bytes; `stall` pauses the reader now and then (the socket must hold). */
async function digestOf(s: Duplex, n: number, already: Buffer, stall: boolean): Promise<string> {
  const h = createHash('sha1').update(already);
  let have = already.length;
  s.on('data', (c: Buffer) => {
    h.update(c);
    have += c.length;
    if (stall && have % 7 === 0) {
      s.pause();
      setTimeout(() => s.resume(), 5);
    }
  });
  s.resume();
  while (have < n) await new Promise((r) => setTimeout(r, 5));
  s.removeAllListeners('data');
  return h.digest('hex');
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
