/** The initiator machine against a hand-built responder: its checks of B's answer. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MseInitiator } from '../../../src/peer/mse/initiator.ts';
import { type EncryptionPolicy, MseError } from '../../../src/peer/mse/policy.ts';
import { type RawAnswer, rawResponderAnswer } from './raw-mse.ts';

const IH = randomBytes(20);

function run(policy: EncryptionPolicy, answer: RawAnswer, after = Buffer.alloc(0)) {
  const a = new MseInitiator({ policy, infoHash: IH });
  const raw = rawResponderAnswer(a.opening(), IH, answer);
  try {
    a.receive(Buffer.concat([raw.bytes, after.length ? raw.encrypt.copy(after) : after]));
    return { result: a.result };
  } catch (e) {
    assert.ok(e instanceof MseError, `not an MseError: ${(e as Error).stack}`);
    return { error: e.message };
  }
}

test('crypto_select: only one method, and one we offered', () => {
  assert.equal(run('prefer', { select: 2 }).result?.selected, 'rc4');
  assert.equal(run('prefer', { select: 1 }).result?.selected, 'plaintext');
  assert.equal(run('allow', { select: 1 }).result?.selected, 'plaintext');
  assert.match(run('require', { select: 1 }).error ?? '', /selected 0x1/);
  assert.match(run('prefer', { select: 3 }).error ?? '', /selected 0x3/);
  assert.match(run('prefer', { select: 0 }).error ?? '', /selected 0x0/);
  assert.throws(() => new MseInitiator({ policy: 'off', infoHash: IH }), MseError);
});

test('what B sends after its handshake comes back decrypted in rest', () => {
  const payload = Buffer.from('B handshake and bitfield');
  const r = run('require', { select: 2, padDLength: 33 }, payload);
  assert.ok(r.result?.rest.equals(payload), `rest is what B sent after its handshake: ${r.result?.rest.toString()}`);
});

test('PadB up to 512 bytes is skipped; ENCRYPT(VC) beyond it is refused', () => {
  assert.equal(run('prefer', { select: 2, padBLength: 512 }).result?.selected, 'rc4');
  assert.match(run('prefer', { select: 2, padBLength: 512, beforeVc: 1 }).error ?? '', /ENCRYPT\(VC\)/);
});

test('PadD over 512 bytes is refused', () => {
  assert.equal(run('prefer', { select: 2, padDLength: 512 }).result?.selected, 'rc4');
  assert.match(run('prefer', { select: 2, padDLength: 513 }).error ?? '', /PadD of 513/);
});

test('the third message carries the sync hash, the obfuscated SKEY and IA of the given length', () => {
  const ia = randomBytes(68);
  const a = new MseInitiator({ policy: 'prefer', infoHash: IH, initialPayload: ia });
  const raw = rawResponderAnswer(a.opening(), IH, { select: 2 });
  const third = Buffer.concat(a.receive(raw.bytes.subarray(0, 96)));
  assert.equal(third.length, 20 + 20 + 8 + 4 + 2 + 0 + 2 + 68);
  assert.throws(() => new MseInitiator({ policy: 'prefer', infoHash: IH, initialPayload: randomBytes(1025) }), /IA of 1025/);
  assert.throws(() => new MseInitiator({ policy: 'prefer', infoHash: randomBytes(19) }), /info hash of 19/);
});
