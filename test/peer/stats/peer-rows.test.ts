/** Peer rows: one per peer however many places know it, rates from two samples, bounded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PEER_ROWS, PeerRates, peerRows, wireKey, type RowInputs } from '../../../src/peer/stats/peer-rows.ts';
import { newPeerId } from '../../../src/bittorrent/peer-id.ts';

const lt = Buffer.from('-LT2080-abcdefghijkl', 'latin1');

function inputs(): RowInputs {
  return {
    wires: [{ peerId: lt, version: undefined, remote: '127.0.0.1:7000', transport: 'utp', downloaded: 1000, uploaded: 50, has: 7 }],
    sources: [
      { id: wireKey(lt), label: '127.0.0.1:7000', address: '127.0.0.1', pieces: 3, received: 1000, live: true },
      { id: 'http://127.0.0.1:6881', label: '127.0.0.1:6881', address: '127.0.0.1', pieces: 9, received: 9000, live: true },
      { id: 'http://127.0.0.1:6999', label: '127.0.0.1:6999', address: '127.0.0.1', pieces: 1, received: 100, live: false },
      { id: 'webseed:http://w/', label: 'web seed http://w/', address: 'w', pieces: 2, received: 200, live: true },
    ],
    httpClients: [
      { key: 'a', address: '127.0.0.1', port: 6881, webSeed: false, uploaded: 400, lastAt: 0 },
      { key: 'b', address: '::1', port: undefined, webSeed: false, uploaded: 5, lastAt: 0 },
      { key: 'c', address: '127.0.0.1', port: undefined, webSeed: true, uploaded: 70, lastAt: 0 },
    ],
    ourClient: 'p2p-bittorrent 0.1',
  };
}

test('a wire peer and its download source are one row; an HTTP peer we fetch from and that fetches from us is one row', () => {
  const rows = peerRows(inputs());
  const byKey = new Map(rows.map((r) => [r.key, r]));
  assert.equal(rows.length, 5); // the dropped HTTP source is gone
  const w = byKey.get(wireKey(lt))!;
  assert.deepEqual([w.transport, w.client, w.piecesGiven, w.has, w.downloaded, w.uploaded], ['utp', 'libtorrent 2.0.8', 3, 7, 1000, 50]);
  const h = byKey.get('http://127.0.0.1:6881')!;
  assert.deepEqual([h.transport, h.client, h.piecesGiven, h.downloaded, h.uploaded], ['http', 'p2p-bittorrent 0.1', 9, 9000, 400]);
  assert.equal(byKey.get('webseed:http://w/')!.transport, 'webseed');
  assert.equal(byKey.get('http://[::1]')!.address, '::1');
  const ws = byKey.get('webseed-client:http://127.0.0.1')!;
  assert.deepEqual([ws.transport, ws.client, ws.uploaded], ['webseed', 'web seed client', 70]);
  assert.deepEqual(rows.map((r) => r.key)[0], 'http://127.0.0.1:6881'); // most bytes first while no rate is known
});

test('a peer reached over its HTTP API and over the wire (same ip:port) is one row', () => {
  const inp = inputs();
  inp.wires.push({ peerId: newPeerId(), version: 'p2p-bittorrent 0.1', remote: '127.0.0.1:6881', transport: 'tcp', downloaded: 0, uploaded: 100, has: 12 });
  const rows = peerRows(inp);
  const merged = rows.filter((r) => r.address === '127.0.0.1:6881');
  assert.equal(merged.length, 1);
  assert.deepEqual([merged[0]!.transport, merged[0]!.also, merged[0]!.uploaded, merged[0]!.has, merged[0]!.piecesGiven], ['tcp', ['http'], 500, 12, 9]);
});

test('rates come from two samples of the totals; a peer gone since is forgotten', () => {
  const rates = new PeerRates();
  const inp = inputs();
  rates.sample(peerRows(inp), 1000);
  inp.wires[0]!.downloaded += 5000;
  inp.wires[0]!.uploaded += 500;
  rates.sample(peerRows(inp), 3000);
  const w = peerRows(inp, rates.lookup).find((r) => r.key === wireKey(lt))!;
  assert.deepEqual([w.downRate, w.upRate], [2500, 250]);
  assert.equal(peerRows(inp, rates.lookup)[0]!.key, wireKey(lt)); // the fastest first
  rates.sample([], 4000);
  assert.equal(rates.lookup(wireKey(lt)), undefined);
});

test('rows are bounded', () => {
  const inp = inputs();
  inp.wires = Array.from({ length: MAX_PEER_ROWS + 50 }, (_, i) => ({ peerId: newPeerId(), version: 'x', remote: `10.0.0.1:${i}`, transport: 'tcp' as const, downloaded: i, uploaded: 0, has: 0 }));
  assert.equal(peerRows(inp).length, MAX_PEER_ROWS);
});
