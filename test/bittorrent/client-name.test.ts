import test from 'node:test';
import assert from 'node:assert/strict';
import { clientName, printableId } from '../../src/bittorrent/client-name.ts';

const id = (s: string) => Buffer.from(s.padEnd(20, 'x'), 'latin1');

test('Azureus-style peer_ids name their client and version', () => {
  assert.equal(clientName(id('-qB4520-')), 'qBittorrent 4.5.2');
  assert.equal(clientName(id('-TR3000-')), 'Transmission 3.0.0');
  assert.equal(clientName(id('-LT2080-')), 'libtorrent 2.0.8');
  assert.equal(clientName(id('-NB0001-')), 'p2p-bittorrent 0.0.0.1');
  assert.equal(clientName(id('-A2-1-3-')), 'unknown');
  assert.equal(clientName(id('-ZZ1234-')), 'unknown client ZZ 1.2.3.4');
});

test('Mainline-style and unknown peer_ids', () => {
  assert.equal(clientName(id('M7-2-2--')), 'BitTorrent (Mainline) 7.2.2');
  assert.equal(clientName(id('<img src=x onerror=a')), 'unknown');
  assert.equal(clientName(Buffer.alloc(20)), 'unknown');
  assert.equal(clientName(Buffer.alloc(3)), 'unknown');
});

test('printableId keeps printable ASCII only', () => {
  assert.equal(printableId(Buffer.from([0x2d, 0x41, 0x00, 0xff, 0x3c])), '-A··<');
});

test('aria2 names itself A2-major-minor-patch-', () => {
  assert.equal(clientName(Buffer.from('A2-1-36-0-abcdefghij')), 'aria2 1.36.0');
});
