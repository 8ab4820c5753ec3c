import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMagnet, looksLikeMagnet, MagnetError, MAX_MAGNET_LENGTH, parseMagnet } from '../../src/magnet/magnet-uri.ts';

const HEX = 'cff9fa928219ff1e719ed449e15f6dc5fe2e9fea';

test('hex info hash, name, trackers, web seeds and peers', () => {
  const m = parseMagnet(
    `magnet:?xt=urn:btih:${HEX.toUpperCase()}&dn=example+file%20%C3%A9.txt&tr=http%3A%2F%2F127.0.0.1%3A5001%2Fannounce&tr.1=udp://127.0.0.1:5001/announce` +
      '&ws=http%3A%2F%2F127.0.0.1%3A6881%2Fwebseed%2F&x.pe=127.0.0.1:6881&x.pe=[::1]:6882&x.pe=127.0.0.1:6881&xl=100',
  );
  assert.equal(m.infoHashHex, HEX);
  assert.equal(m.name, 'example file é.txt');
  assert.deepEqual(m.trackers, ['http://127.0.0.1:5001/announce', 'udp://127.0.0.1:5001/announce']);
  assert.deepEqual(m.webSeeds, ['http://127.0.0.1:6881/webseed/']);
  assert.deepEqual(m.peers, [{ ip: '127.0.0.1', port: 6881 }, { ip: '::1', port: 6882 }]);
});

test('base32 info hash equals its hex form', () => {
  // RFC 4648 base32 of the 20 bytes of HEX.
  const b32 = base32(Buffer.from(HEX, 'hex'));
  assert.equal(b32.length, 32);
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHashHex, HEX);
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32.toLowerCase()}`).infoHashHex, HEX);
});

test('trackers of other schemes and non-URLs are left out; duplicates once', () => {
  const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&tr=wss://t.example/x&tr=not%20a%20url&tr=http://a/announce&tr=http://a/announce&ws=ftp://x/`);
  assert.deepEqual(m.trackers, ['http://a/announce']);
  assert.deepEqual(m.webSeeds, []);
});

test('format then parse gives the same link back', () => {
  const link = formatMagnet(Buffer.from(HEX, 'hex'), 'a b&c=d/é', ['http://127.0.0.1:5001/announce?passkey=x&y=1'], ['http://127.0.0.1:6881/webseed/h/'], [{ ip: '::1', port: 7 }]);
  assert.match(link, new RegExp(`^magnet:\\?xt=urn:btih:${HEX}&dn=`));
  const m = parseMagnet(link);
  assert.equal(m.name, 'a b&c=d/é');
  assert.deepEqual(m.trackers, ['http://127.0.0.1:5001/announce?passkey=x&y=1']);
  assert.deepEqual(m.webSeeds, ['http://127.0.0.1:6881/webseed/h/']);
  assert.deepEqual(m.peers, [{ ip: '::1', port: 7 }]);
});

test('looksLikeMagnet tells a link from a path', () => {
  assert.ok(looksLikeMagnet(' MAGNET:?xt=x'), "' MAGNET:?xt=x' looks like a magnet link (case and spaces ignored)");
  assert.ok(!looksLikeMagnet('peer_6882/magnet.torrent'), "'peer_6882/magnet.torrent' is a path, not a magnet link");
});

const hostile: Array<[string, string, RegExp]> = [
  ['not a magnet', 'http://x/?xt=urn:btih:' + HEX, /must start with "magnet:\?"/],
  ['no xt', 'magnet:?dn=x', /no xt=urn:btih/],
  ['39 hex digits', `magnet:?xt=urn:btih:${HEX.slice(1)}`, /40 hex digits or 32 base32/],
  ['41 hex digits', `magnet:?xt=urn:btih:${HEX}0`, /40 hex digits or 32 base32/],
  ['base32 with a bad letter', `magnet:?xt=urn:btih:${'1'.repeat(32)}`, /not base32/],
  ['two different hashes', `magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`, /two different info hashes/],
  ['v2 only', 'magnet:?xt=urn:btmh:1220' + 'a'.repeat(64), /v2-only/],
  ['bad escape', `magnet:?xt=urn:btih:${HEX}&dn=%zz`, /bad %-escape in dn: "%zz"/],
  ['truncated escape', `magnet:?xt=urn:btih:${HEX}&tr=http://a/%4`, /bad %-escape in tr/],
  ['escape to invalid UTF-8', `magnet:?xt=urn:btih:${HEX}&dn=%ff%fe`, /not valid UTF-8/],
  ['too long', `magnet:?xt=urn:btih:${HEX}&dn=${'a'.repeat(MAX_MAGNET_LENGTH)}`, /at most 8192/],
  ['too many parameters', `magnet:?xt=urn:btih:${HEX}${'&a'.repeat(300)}`, /301 parameters/],
  ['too many trackers', `magnet:?xt=urn:btih:${HEX}${'&tr=http://a/'.repeat(65)}`, /more than 64 "tr"/],
  ['x.pe without port', `magnet:?xt=urn:btih:${HEX}&x.pe=127.0.0.1`, /not an IP:port/],
  ['x.pe port 0', `magnet:?xt=urn:btih:${HEX}&x.pe=127.0.0.1:0`, /not an IP:port/],
  ['x.pe host name', `magnet:?xt=urn:btih:${HEX}&x.pe=example.com:80`, /not an IP:port/],
  ['huge dn', `magnet:?xt=urn:btih:${HEX}&dn=${'%C3%A9'.repeat(600)}`, /dn is longer than 1024 bytes/],
];

for (const [what, uri, re] of hostile) {
  test(`hostile magnet: ${what} -> one MagnetError line`, () => {
    assert.throws(
      () => parseMagnet(uri),
      (e: unknown) => e instanceof MagnetError && re.test(e.message) && !e.message.includes('\n') && e.message.length < 200,
    );
  });
}

function base32(b: Buffer): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let v = 0;
  let out = '';
  for (const byte of b) {
    v = (v << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += A[(v >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}
