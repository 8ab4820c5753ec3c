import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createKeyPair, DH_KEY_LENGTH, MSE_PRIME, streamKeys } from '../../../src/peer/mse/dh.ts';

const toBig = (b: Buffer) => BigInt(`0x${b.toString('hex')}`);
function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  for (base %= mod; exp > 0n; exp >>= 1n, base = (base * base) % mod) if (exp & 1n) r = (r * base) % mod;
  return r;
}

test('the prime is the spec\'s 768-bit one', () => {
  assert.equal(MSE_PRIME.length, 96);
  assert.equal(MSE_PRIME.toString('hex').slice(0, 16), 'ffffffffffffffff');
  assert.equal(MSE_PRIME.toString('hex').slice(-8), '00090563');
});

test('public key = 2^x mod P, 96 bytes left-padded; S = Yb^xa mod P, the same on both sides', () => {
  const P = toBig(MSE_PRIME);
  const x = Buffer.alloc(20);
  x[19] = 5; // 2^5 = 32: a one-byte key that must be padded to 96
  const small = createKeyPair(x);
  assert.equal(small.publicKey.length, DH_KEY_LENGTH);
  assert.equal(toBig(small.publicKey), 32n);
  for (let k = 0; k < 3; k++) {
    const xa = randomBytes(20);
    const xb = randomBytes(20);
    const a = createKeyPair(xa);
    const b = createKeyPair(xb);
    assert.equal(toBig(a.publicKey), modPow(2n, toBig(xa), P));
    const s = a.secretWith(b.publicKey);
    assert.equal(s.length, DH_KEY_LENGTH);
    assert.equal(toBig(s), modPow(toBig(b.publicKey), toBig(xa), P));
    assert.ok(s.equals(b.secretWith(a.publicKey)), 'A and B compute the same shared secret');
  }
});

test('key pairs made in between do not disturb one another (one shared DH object)', () => {
  const a = createKeyPair();
  const b = createKeyPair();
  const before = a.secretWith(b.publicKey);
  createKeyPair();
  assert.ok(a.secretWith(b.publicKey).equals(before), 'a new key pair elsewhere does not change the secret of A with B');
});

test('stream keys: A and B keys differ and depend on SKEY', () => {
  const s = Buffer.alloc(96, 7);
  const k1 = streamKeys(s, Buffer.alloc(20, 1));
  const k2 = streamKeys(s, Buffer.alloc(20, 2));
  assert.notDeepEqual(k1.keyA, k1.keyB);
  assert.notDeepEqual(k1.keyA, k2.keyA);
  assert.equal(k1.keyA.length, 20);
});
