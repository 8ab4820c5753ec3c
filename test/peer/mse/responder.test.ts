/** The responder machine against a hand-built initiator: policies, bounds, hostile fields. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DH_KEY_LENGTH, MSE_PRIME } from '../../../src/peer/mse/dh.ts';
import { type EncryptionPolicy, MseError } from '../../../src/peer/mse/policy.ts';
import { MAX_IA_LENGTH, MseResponder } from '../../../src/peer/mse/responder.ts';
import { type RawFields, rawInitiator } from './raw-mse.ts';

const IH = randomBytes(20);

/** Run a raw initiator against a responder; the result, or the MseError's message. */
function run(policy: EncryptionPolicy, fields: Partial<RawFields>, after = Buffer.alloc(0)) {
  const b = new MseResponder({ policy, infoHashes: () => [IH] });
  const a = rawInitiator({ infoHash: IH, ...fields });
  try {
    const fromB = Buffer.concat(b.receive(a.opening));
    const third = a.third(fromB);
    const answer = Buffer.concat(b.receive(Buffer.concat([third.bytes, after])));
    return { result: b.result, answer, third };
  } catch (e) {
    assert.ok(e instanceof MseError, `not an MseError: ${(e as Error).stack}`);
    return { error: e.message };
  }
}

test('crypto_provide x policy: allow takes plaintext when offered (as libtorrent), prefer and require RC4; plaintext never under require', () => {
  const want: Record<EncryptionPolicy, Record<number, string>> = {
    off: {},
    allow: { 1: 'plaintext', 2: 'rc4', 3: 'plaintext', 0: 'refused', 4: 'refused', 0xff: 'plaintext' },
    prefer: { 1: 'plaintext', 2: 'rc4', 3: 'rc4', 0: 'refused', 4: 'refused', 0xff: 'rc4' },
    require: { 1: 'refused', 2: 'rc4', 3: 'rc4', 0: 'refused', 4: 'refused', 0xff: 'rc4' },
  };
  for (const policy of ['allow', 'prefer', 'require'] as const) {
    for (const [provide, expected] of Object.entries(want[policy])) {
      const r = run(policy, { provide: Number(provide) });
      assert.equal(r.result?.selected ?? 'refused', expected, `${policy} provide=${provide}: ${r.error}`);
    }
  }
  assert.throws(() => new MseResponder({ policy: 'off', infoHashes: () => [IH] }), MseError);
});

test('the answer is ENCRYPT(VC, crypto_select, len(PadD)=0) in B\'s keystream', () => {
  const r = run('prefer', { provide: 1 });
  assert.ok(r.answer && r.third, 'B answers and has its third-message state');
  const plain = r.third.decrypt.copy(r.answer.subarray(r.answer.length - 14));
  assert.ok(plain.subarray(0, 8).equals(Buffer.alloc(8)), 'the answer starts with VC, 8 zero bytes, in plain');
  assert.equal(plain.readUInt32BE(8), 1);
  assert.equal(plain.readUInt16BE(12), 0);
});

test('plaintext selected: IA is still RC4, what follows it is passed on as it came', () => {
  const ia = Buffer.from('IA bytes');
  const after = Buffer.from('plain payload');
  const r = run('allow', { provide: 1, ia }, after);
  assert.equal(r.result?.selected, 'plaintext');
  assert.ok(r.result.initial.equals(Buffer.concat([ia, after])), 'initial is IA and the plaintext after it');
});

test('RC4 selected: what follows IA is decrypted into initial', () => {
  const ia = Buffer.from('IA bytes');
  const b = new MseResponder({ policy: 'require', infoHashes: () => [IH] });
  const a = rawInitiator({ infoHash: IH, provide: 2, ia });
  const third = a.third(Buffer.concat(b.receive(a.opening)));
  const after = Buffer.from('encrypted payload');
  b.receive(Buffer.concat([third.bytes, third.encrypt.copy(after)]));
  assert.ok(b.result?.initial.equals(Buffer.concat([ia, after])), 'initial is IA and the decrypted payload after it');
});

test('bounds: PadC 512 and IA 1024 pass, PadC 513 and IA 1025 are refused', () => {
  assert.equal(run('prefer', { padCLength: 512 }).result?.selected, 'rc4');
  assert.match(run('prefer', { padCLength: 513 }).error ?? '', /PadC of 513/);
  assert.equal(run('prefer', { ia: randomBytes(MAX_IA_LENGTH) }).result?.selected, 'rc4');
  assert.match(run('prefer', { ia: randomBytes(MAX_IA_LENGTH + 1) }).error ?? '', /IA of 1025/);
});

test('the sync hash is searched for within PadA only: at 512 bytes found, at 513 refused', () => {
  assert.equal(run('prefer', { padALength: 200, beforeReq1: 312 }).result?.selected, 'rc4');
  assert.match(run('prefer', { padALength: 200, beforeReq1: 313 }).error ?? '', /req1/);
});

test('wrong VC, unknown info hash, missing sync hash: each an MseError', () => {
  assert.match(run('allow', { vc: Buffer.from('12345678') }).error ?? '', /verification constant/);
  const b = new MseResponder({ policy: 'allow', infoHashes: () => [randomBytes(20)] });
  const a = rawInitiator({ infoHash: IH });
  const third = a.third(Buffer.concat(b.receive(a.opening)));
  assert.throws(() => b.receive(third.bytes), /torrent we do not serve/);
  assert.match(run('allow', { wrongReq1: true, beforeReq1: 600 }).error ?? '', /req1/);
});

test('a missing sync hash is waited for up to the window, then refused', () => {
  const b = new MseResponder({ policy: 'allow', infoHashes: () => [IH] });
  b.receive(rawInitiator({ infoHash: IH }).opening);
  assert.deepEqual(b.receive(randomBytes(531)), []); // 531 < 512 + 20: it may still come
  assert.throws(() => b.receive(randomBytes(1)), MseError);
});

test('degenerate DH keys (0, 1, P-1, >= P) are refused', () => {
  const one = Buffer.alloc(DH_KEY_LENGTH);
  one[DH_KEY_LENGTH - 1] = 1;
  const pMinus1 = Buffer.from(MSE_PRIME);
  pMinus1[DH_KEY_LENGTH - 1]! -= 1;
  for (const ya of [Buffer.alloc(DH_KEY_LENGTH), one, pMinus1, MSE_PRIME, Buffer.alloc(DH_KEY_LENGTH, 0xff)]) {
    const b = new MseResponder({ policy: 'allow', infoHashes: () => [IH] });
    assert.throws(() => b.receive(ya), MseError);
  }
});

test('a huge burst of garbage is refused at once, not buffered', () => {
  const b = new MseResponder({ policy: 'allow', infoHashes: () => [IH] });
  assert.throws(() => b.receive(randomBytes(1 << 20)), MseError);
  assert.throws(() => b.receive(randomBytes(10)), /already failed/); // nothing more is taken
});
