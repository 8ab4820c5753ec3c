/** SipHash-2-4 against the reference vectors (key 00..0f, messages 00.., lengths 0..63) and OpenSSL. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sipKey, siphash24 } from '../../../src/tracker/udp/siphash.ts';
import { which } from '../../support/procs.ts';

/** The reference implementation's vectors_sip64 (64-bit output, little-endian bytes). */
const REFERENCE = [
  '310e0edd47db6f72', 'fd67dc93c539f874', '5a4fa9d909806c0d', '2d7efbd796666785',
  'b7877127e09427cf', '8da699cd64557618', 'cee3fe586e46c9cb', '37d1018bf50002ab',
  '6224939a79f5f593', 'b0e4a90bdf82009e', 'f3b9dd94c5bb5d7a', 'a7ad6b22462fb3f4',
  'fbe50e86bc8f1e75', '903d84c02756ea14', 'eef27a8e90ca23f7', 'e545be4961ca29a1',
  'db9bc2577fcc2a3f', '9447be2cf5e99a69', '9cd38d96f0b3c14b', 'bd6179a71dc96dbb',
  '98eea21af25cd6be', 'c7673b2eb0cbf2d0', '883ea3e395675393', 'c8ce5ccd8c030ca8',
  '94af49f6c650adb8', 'eab8858ade92e1bc', 'f315bb5bb835d817', 'adcf6b0763612e2f',
  'a5c91da7acaa4dde', '716595876650a2a6', '28ef495c53a387ad', '42c341d8fa92d832',
  'ce7cf2722f512771', 'e37859f94623f3a7', '381205bb1ab0e012', 'ae97a10fd434e015',
  'b4a31508beff4d31', '81396229f0907902', '4d0cf49ee5d4dcca', '5c73336a76d8bf9a',
  'd0a704536ba93e0e', '925958fcd6420cad', 'a915c29bc8067318', '952b79f3bc0aa6d4',
  'f21df2e41d4535f9', '87577519048f53a9', '10a56cf5dfcd9adb', 'eb75095ccd986cd0',
  '51a9cb9ecba312e6', '96afadfc2ce666c7', '72fe52975a4364ee', '5a1645b276d592a1',
  'b274cb8ebf87870a', '6f9bb4203de7b381', 'eaecb2a30b22a87f', '9924a43cc1315724',
  'bd838d3aafbf8db7', '0b1a2a3265d51aea', '135079a3231ce660', '932b2846e4d70666',
  'e1915f5cb1eca46c', 'f325965ca16d629f', '575ff28e60381be5', '724506eb4c328a95',
];

function sip(key: Buffer, m: Buffer): string {
  const out = Buffer.alloc(8);
  siphash24(sipKey(key), m, m.length, out);
  return out.toString('hex');
}

test('the 64 reference vectors', () => {
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  for (let n = 0; n < 64; n++) assert.equal(sip(key, Buffer.from(Array.from({ length: n }, (_, i) => i))), REFERENCE[n], `length ${n}`);
});

test('random keys and messages agree with OpenSSL (openssl mac SIPHASH)', (t) => {
  if (!which('openssl')) return t.skip('openssl not installed: apt-get install -y openssl');
  for (let i = 0; i < 12; i++) {
    const key = randomBytes(16);
    const m = randomBytes(i * 11);
    const theirs = execFileSync('openssl', ['mac', '-macopt', `hexkey:${key.toString('hex')}`, '-macopt', 'size:8', 'SIPHASH'], { input: m }).toString().trim().toLowerCase();
    assert.equal(sip(key, m), theirs, `key ${key.toString('hex')}, ${m.length} bytes`);
  }
});

test('the key must be 16 bytes; a shorter length hashes a prefix only', () => {
  assert.throws(() => sipKey(Buffer.alloc(15)), RangeError);
  const key = Buffer.alloc(16, 7);
  const m = Buffer.from('abcdefghij');
  const out = Buffer.alloc(8);
  siphash24(sipKey(key), m, 3, out);
  assert.equal(out.toString('hex'), sip(key, Buffer.from('abc')));
});
