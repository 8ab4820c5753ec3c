import test from 'node:test';
import assert from 'node:assert/strict';
import { checkSelected, cryptoProvide, cryptoSelect, MseError } from '../../../src/peer/mse/policy.ts';

test('crypto_provide: RC4 and plaintext, RC4 alone under require, nothing under off', () => {
  assert.equal(cryptoProvide('allow'), 3);
  assert.equal(cryptoProvide('prefer'), 3);
  assert.equal(cryptoProvide('require'), 2);
  assert.throws(() => cryptoProvide('off'), MseError);
});

test('crypto_select and its check', () => {
  assert.equal(cryptoSelect('allow', 3), 1);
  assert.equal(cryptoSelect('prefer', 3), 2);
  assert.equal(cryptoSelect('allow', 2), 2);
  assert.equal(cryptoSelect('allow', 1), 1);
  assert.throws(() => cryptoSelect('require', 1), /RC4 is required/);
  assert.throws(() => cryptoSelect('prefer', 0x10), /no method/);
  assert.equal(checkSelected(3, 1), 'plaintext');
  assert.equal(checkSelected(2, 2), 'rc4');
  assert.throws(() => checkSelected(2, 1), MseError);
  assert.throws(() => checkSelected(3, 3), MseError);
});
