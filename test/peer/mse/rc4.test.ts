import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mseRc4, Rc4 } from '../../../src/peer/mse/rc4.ts';

const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');

test('RC4 matches the classic test vectors (Key, Wiki, Secret)', () => {
  const cases: [string, string, string][] = [
    ['Key', 'Plaintext', 'BBF316E8D940AF0AD3'],
    ['Wiki', 'pedia', '1021BF0420'],
    ['Secret', 'Attack at dawn', '45A01F645FC35B383552544B9BF5'],
  ];
  for (const [key, plain, cipher] of cases) {
    assert.equal(new Rc4(Buffer.from(key)).copy(Buffer.from(plain)).toString('hex').toUpperCase(), cipher, key);
  }
});

test('RC4 keystream matches RFC 6229 at offsets 0 and 1024 (the offset MSE starts at)', () => {
  const vectors = [
    { key: '0102030405', at0: 'b2396305f03dc027ccc3524a0a1118a8', at1024: '30abbcc7c20b01609f23ee2d5f6bb7df' },
    { key: '0102030405060708090a0b0c0d0e0f10', at0: '9ac7cc9a609d1ef7b2932899cde41b97', at1024: 'bdf0324e6083dcc6d3cedd3ca8c53c16' },
  ];
  for (const v of vectors) {
    assert.equal(new Rc4(hex(v.key)).copy(Buffer.alloc(16)).toString('hex'), v.at0);
    assert.equal(new Rc4(hex(v.key), 1024).copy(Buffer.alloc(16)).toString('hex'), v.at1024);
    assert.equal(mseRc4(hex(v.key)).copy(Buffer.alloc(16)).toString('hex'), v.at1024, 'mseRc4 drops 1024 bytes');
  }
});

test('RC4 is a stream: any split into chunks gives the same bytes; decrypting restores them', () => {
  const key = randomBytes(20);
  const data = randomBytes(100_000);
  const whole = new Rc4(key).copy(data);
  const split = new Rc4(key);
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const n = Math.min(data.length - at, 1 + Math.floor(Math.random() * 5000));
    parts.push(split.copy(data.subarray(at, at + n)));
    at += n;
  }
  assert.ok(Buffer.concat(parts).equals(whole), 'encrypting in parts gives the same stream as at once');
  const back = Buffer.from(whole);
  new Rc4(key).inPlace(back);
  assert.ok(back.equals(data), 'decrypting gives the data back');
});

test('copy leaves its input untouched; inPlace changes it; xorInto writes at an offset', () => {
  const key = Buffer.from('k');
  const input = Buffer.from('piece data from a shared pool');
  const before = Buffer.from(input);
  const out = new Rc4(key).copy(input);
  assert.ok(input.equals(before), 'copy leaves its input unchanged');
  assert.ok(!out.equals(input), 'copy returns other bytes');
  const dst = Buffer.alloc(input.length + 3);
  new Rc4(key).xorInto(input, dst, 3);
  assert.ok(dst.subarray(3).equals(out), 'xorInto at offset 3 writes the same bytes as copy');
  new Rc4(key).inPlace(input);
  assert.ok(input.equals(out), 'inPlace writes the same bytes as copy');
});

test('skip(n) equals encrypting n bytes and throwing them away', () => {
  const key = randomBytes(16);
  for (const n of [0, 1, 4095, 4096, 4097, 10_000]) {
    const a = new Rc4(key);
    a.skip(n);
    const b = new Rc4(key);
    b.copy(Buffer.alloc(n));
    assert.ok(a.copy(Buffer.alloc(32)).equals(b.copy(Buffer.alloc(32))), `n=${n}`);
  }
});

test('RC4 refuses an empty or over-long key', () => {
  assert.throws(() => new Rc4(Buffer.alloc(0)), RangeError);
  assert.throws(() => new Rc4(Buffer.alloc(257)), RangeError);
});
