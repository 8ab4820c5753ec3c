/** Client names from BEP 10 `v` and peer_id prefixes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientFromPeerId, clientName } from '../../../src/peer/stats/client-name.ts';
import { newPeerId } from '../../../src/bittorrent/peer-id.ts';

const id = (prefix: string) => Buffer.concat([Buffer.from(prefix, 'latin1'), Buffer.alloc(20 - prefix.length, 0x61)]);

test('Azureus-style prefixes name the client and its version digits; aria2 has its own form', () => {
  assert.equal(clientFromPeerId(id('-TR3000-')), 'Transmission 3000');
  assert.equal(clientFromPeerId(id('-LT2080-')), 'libtorrent 2080');
  assert.equal(clientFromPeerId(newPeerId()), 'p2p-bittorrent 0001');
  assert.equal(clientFromPeerId(id('-ZZ1234-')), 'client ZZ 1234');
  assert.equal(clientFromPeerId(id('A2-1-36-0-')), 'aria2 1.36.0');
  assert.equal(clientFromPeerId(id('M7-2-0--')), undefined);
  assert.equal(clientFromPeerId(Buffer.from('short')), undefined);
});

test('BEP 10 `v` wins; control characters are replaced, long names cut; unknown ids show their first bytes', () => {
  assert.equal(clientName(id('-TR3000-'), 'libtorrent/2.0.8.0'), 'libtorrent/2.0.8.0');
  assert.equal(clientName(id('-TR3000-'), '  '), 'Transmission 3000');
  assert.equal(clientName(undefined, 'a\u0000b\nc'), 'a?b?c');
  assert.equal(clientName(undefined, 'x'.repeat(200)).length, 64);
  assert.equal(clientName(Buffer.from('\u0001\u0002XYZ123456789012345', 'latin1'), undefined), 'unknown (??XYZ123)');
  assert.equal(clientName(undefined, undefined), 'unknown');
});
