/** The peer's /metrics text: every family, counters and gauges, parsed back by a strict reader. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import promClient from 'prom-client';
import { PEER_METRICS_CONTENT_TYPE, peerMetricsText } from '../../../src/peer/stats/metrics.ts';
import { parseExposition, sample } from '../../tracker/metrics/prom-text.ts';

test('bytes, pieces, hash failures by peer and peers by transport', async () => {
  const text = await peerMetricsText({
    downloaded: 1000,
    uploaded: 250,
    verified: 7,
    failed: 2,
    hashFailures: new Map([['192.0.2.7', 2]]),
    connections: new Map([['utp', 3], ['http', 1]]),
    torrents: 1,
  });
  const e = parseExposition(text);
  assert.equal(sample(e, 'peer_bytes_total', { direction: 'down' }), 1000);
  assert.equal(sample(e, 'peer_bytes_total', { direction: 'up' }), 250);
  assert.equal(sample(e, 'peer_pieces_verified_total'), 7);
  assert.equal(sample(e, 'peer_pieces_failed_total'), 2);
  assert.equal(sample(e, 'peer_hash_failures_total', { peer: '192.0.2.7' }), 2);
  assert.equal(sample(e, 'peer_peers', { transport: 'utp' }), 3);
  assert.equal(sample(e, 'peer_peers', { transport: 'tcp' }), 0);
  assert.equal(sample(e, 'peer_torrents'), 1);
  assert.equal(e.types.get('peer_bytes_total'), 'counter');
  assert.equal(e.types.get('peer_peers'), 'gauge');
});

test('the content type is prom-client\'s (written out so that the module loads only at a scrape)', () => {
  assert.equal(PEER_METRICS_CONTENT_TYPE, promClient.Registry.PROMETHEUS_CONTENT_TYPE);
});
