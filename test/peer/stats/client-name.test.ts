/** Client names from BEP 10 `v` and peer_id prefixes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientName } from '../../../src/peer/stats/client-name.ts';

const id = (prefix: string) => Buffer.concat([Buffer.from(prefix, 'latin1'), Buffer.alloc(20 - prefix.length, 0x61)]);

// What is printable is tested in its home (test/bittorrent/client-name.test.ts): here, that both a
// `v` and an unknown peer_id pass through it.
test('BEP 10 `v` wins, made printable, long names cut; unknown ids show their first 8 bytes, made printable', () => {
  assert.equal(clientName(id('-TR3000-'), 'libtorrent/2.0.8.0'), 'libtorrent/2.0.8.0');
  assert.equal(clientName(id('-TR3000-'), '  '), 'Transmission 3.0.0');
  assert.equal(clientName(undefined, 'a\u0000b\nc'), 'a·b·c');
  assert.equal(clientName(undefined, 'x'.repeat(200)).length, 64);
  assert.equal(clientName(Buffer.from('\u0001\u00ffXYZ123456789012345', 'latin1'), undefined), 'unknown (··XYZ123)');
  assert.equal(clientName(id('%%XYZ123'), undefined), 'unknown (%%XYZ123)');
  assert.equal(clientName(undefined, undefined), 'unknown');
});
