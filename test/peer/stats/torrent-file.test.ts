/** The rebuilt .torrent keeps the info_hash; the magnet link names hash, name and every tracker once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetainfo } from '../../../src/metainfo/metainfo.ts';
import { magnetLink, torrentFileBytes, torrentFileName } from '../../../src/peer/stats/torrent-file.ts';
import { parseMagnet } from '../../../src/magnet/magnet-uri.ts';
import { encode } from '../../../src/metainfo/bencode.ts';

/** A torrent whose info has a key we do not know and whose outer dict has extra keys. */
function oddTorrent(): Buffer {
  const info = encode({ length: 5, name: 'a&b <x>.txt', 'piece length': 16384, pieces: Buffer.alloc(20, 7), 'x-unknown': 'kept' });
  const head = encode({ announce: 'http://t.example/announce', 'announce-list': [['http://t.example/announce', 'udp://u.example:80']], comment: 'hi' });
  return Buffer.concat([head.subarray(0, -1), Buffer.from('4:info'), info, Buffer.from('8:url-list'), encode(['http://w.example/']), Buffer.from('e')]);
}

test('the rebuilt .torrent parses to the same info_hash, trackers and web seeds', () => {
  const meta = parseMetainfo(oddTorrent());
  const again = parseMetainfo(torrentFileBytes(meta));
  assert.equal(again.infoHashHex, meta.infoHashHex);
  assert.deepEqual(again.announceList, meta.announceList);
  assert.equal(again.announce, meta.announce);
  assert.deepEqual(again.urlList, meta.urlList);
});

test('magnet: xt, dn, each tracker once and the web seeds, percent-encoded; it parses back', () => {
  const meta = parseMetainfo(oddTorrent());
  const m = magnetLink(meta);
  const q = new URLSearchParams(m.slice('magnet:?'.length));
  assert.equal(q.get('xt'), `urn:btih:${meta.infoHashHex}`);
  assert.equal(q.get('dn'), 'a&b <x>.txt');
  assert.deepEqual(q.getAll('tr'), ['http://t.example/announce', 'udp://u.example:80']);
  assert.deepEqual(q.getAll('ws'), ['http://w.example/']);
  assert.ok(!m.includes('<') && !m.includes(' '), `no < or space in the magnet link: ${m}`);
  const back = parseMagnet(m);
  assert.equal(back.infoHash.toString('hex'), meta.infoHashHex);
  assert.equal(back.name, meta.name);
});

test('the download name has no quote, slash or control character', () => {
  assert.equal(torrentFileName('a"b/c\r\n.txt'), 'a_b_c__.txt.torrent');
  assert.equal(torrentFileName('..'), '_.torrent');
  assert.equal(torrentFileName(''), 'torrent.torrent');
});
