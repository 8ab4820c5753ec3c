/** buildAnnounceUrl alone: the query it appends, and that every byte survives the tracker's decoder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAnnounceUrl, type AnnounceParams } from '../../src/tracker-client/announce-url.ts';
import { parseRawQuery, percentDecode } from '../../src/tracker/protocol/query.ts';

const params: AnnounceParams = {
  infoHash: Buffer.from('00202526 2b7e2d41 80ff0a0d 61626364 65666768'.replace(/ /g, ''), 'hex'),
  peerId: Buffer.from('-NB0001-abc def~.%_X', 'latin1'),
  port: 6881,
  uploaded: 1,
  downloaded: 2,
  left: 3,
  event: 'started',
  numwant: 50,
};
const tail = 'info_hash=%00%20%25%26%2B~-A%80%FF%0A%0Dabcdefgh&peer_id=-NB0001-abc%20def~.%25_X&port=6881&uploaded=1&downloaded=2&left=3&compact=1&numwant=50&event=started';

test('buildAnnounceUrl: keeps an existing query and appends correctly', () => {
  assert.equal(buildAnnounceUrl('http://t/announce', params), `http://t/announce?${tail}`);
  assert.equal(buildAnnounceUrl('http://t/announce?passkey=abc', params), `http://t/announce?passkey=abc&${tail}`);
  assert.equal(buildAnnounceUrl('http://t/announce?passkey=abc&', params), `http://t/announce?passkey=abc&${tail}`);
  assert.equal(buildAnnounceUrl('http://t/announce?', params), `http://t/announce?${tail}`);
  assert.equal(buildAnnounceUrl('http://t/a?x=1&y=2#frag', params), `http://t/a?x=1&y=2&${tail}`, 'a fragment is never sent');
  assert.equal(buildAnnounceUrl('http://t:8080/announce.php?uid=1', { ...params, event: 'none', numwant: undefined }).endsWith('&left=3&compact=1'), true);
  // Every byte round-trips through the tracker-side decoder.
  const q = parseRawQuery(buildAnnounceUrl('http://t/x?passkey=a%20b', params).split('?')[1]!, 100);
  assert.deepEqual(q.get('info_hash'), [params.infoHash]);
  assert.deepEqual(q.get('peer_id'), [params.peerId]);
  assert.deepEqual(q.get('passkey'), [percentDecode('a%20b')]);
});
