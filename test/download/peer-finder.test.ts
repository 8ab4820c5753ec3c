import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foundPeersLine } from '../../src/download/peer-finder.ts';

const peers = (n: number) => Array.from({ length: n }, (_, i) => ({ ip: '127.0.0.1', port: 7000 + i }));

test('"seeder(s)" only when every listed peer is a seed by the tracker\'s counts', () => {
  assert.equal(foundPeersLine({ peers: peers(1), complete: 1 }), 'Found 1 seeder(s)');
  assert.equal(foundPeersLine({ peers: peers(2), complete: 5 }), 'Found 2 seeder(s)');
  assert.equal(foundPeersLine({ peers: peers(2), complete: 1 }), 'Found 2 peers (1 seeder)');
  assert.equal(foundPeersLine({ peers: peers(3), complete: 0 }), 'Found 3 peers (0 seeders)');
  assert.equal(foundPeersLine({ peers: peers(1), complete: 0 }), 'Found 1 peer (0 seeders)');
});

test('a tracker that gives no counts: peers, never seeders', () => {
  assert.equal(foundPeersLine({ peers: peers(1) }), 'Found 1 peer');
  assert.equal(foundPeersLine({ peers: peers(4) }), 'Found 4 peers');
});
