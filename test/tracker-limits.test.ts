/** Tracker limits and address trust: --trust-proxy, --trust-ip-param, --max-torrents, --max-peers-per-torrent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress, inCidr, parseCidr } from '../src/tracker/client-address.ts';
import { parseAnnounce } from '../src/tracker/protocol.ts';

const proxies = ['10.0.0.0/8', '::1', '192.168.1.7'].map(parseCidr);

test('CIDR parsing and matching, IPv4 and IPv6, mapped addresses', () => {
  assert.ok(inCidr('10.2.3.4', parseCidr('10.0.0.0/8')));
  assert.ok(!inCidr('11.2.3.4', parseCidr('10.0.0.0/8')));
  assert.ok(inCidr('::ffff:10.9.9.9', parseCidr('10.0.0.0/8')));
  assert.ok(inCidr('2001:db8::5', parseCidr('2001:db8::/32')));
  assert.ok(!inCidr('2001:db9::5', parseCidr('2001:db8::/32')));
  assert.ok(inCidr('1.2.3.4', parseCidr('0.0.0.0/0')));
  assert.ok(!inCidr('1.2.3.4', parseCidr('::/0')), 'families never mix');
  for (const bad of ['10.0.0.0/33', 'nope', '10.0.0.0/x', '::1/129', '1.2.3/8']) assert.throws(() => parseCidr(bad), bad);
});

test('X-Forwarded-For is ignored unless the connection comes from a trusted proxy', () => {
  assert.equal(clientAddress('1.2.3.4', '5.6.7.8', proxies), '1.2.3.4');
  assert.equal(clientAddress('1.2.3.4', '5.6.7.8', []), '1.2.3.4');
  assert.equal(clientAddress('10.0.0.1', undefined, proxies), '10.0.0.1');
});

test('behind trusted proxies: the right-most hop that is not a trusted proxy', () => {
  // The client wrote "6.6.6.6" itself; 5.6.7.8 reached our first proxy, which reached the second.
  assert.equal(clientAddress('10.0.0.1', '6.6.6.6, 5.6.7.8, 192.168.1.7', proxies), '5.6.7.8');
  assert.equal(clientAddress('::1', '5.6.7.8', proxies), '5.6.7.8');
  assert.equal(clientAddress('10.0.0.1', ['6.6.6.6', '5.6.7.8'], proxies), '5.6.7.8');
  // Every hop trusted: the left-most.
  assert.equal(clientAddress('10.0.0.1', '10.1.1.1, 10.2.2.2', proxies), '10.1.1.1');
  // Garbage stops the walk at the last hop we could vouch for.
  assert.equal(clientAddress('10.0.0.1', '5.6.7.8, not-an-ip', proxies), '10.0.0.1');
});

test('the ip parameter is used only with trustIpParam', () => {
  const q =
    'info_hash=' + '%01'.repeat(20) + '&peer_id=' + '%02'.repeat(20) + '&port=6881&uploaded=0&downloaded=0&left=0&ip=9.9.9.9';
  assert.equal(parseAnnounce(q, '127.0.0.1').ip, '127.0.0.1');
  assert.equal(parseAnnounce(q, '127.0.0.1', undefined, { trustIpParam: true }).ip, '9.9.9.9');
  const bogus = q.replace('ip=9.9.9.9', 'ip=evil');
  assert.equal(parseAnnounce(bogus, '127.0.0.1', undefined, { trustIpParam: true }).ip, '127.0.0.1');
});

test('store limits: a full tracker or torrent refuses new entries, keeps old ones', async () => {
  const { MemorySwarmStore } = await import('../src/tracker/store.ts');
  const { handleAnnounce, trackerConfig } = await import('../src/tracker/handlers.ts');
  const { decode } = await import('../src/metainfo/bencode.ts');
  const store = new MemorySwarmStore(60_000, { maxTorrents: 1, maxPeersPerTorrent: 2 });
  const config = trackerConfig(30);
  const q = (hash: string, port: number) =>
    `info_hash=${hash.repeat(20)}&peer_id=${'%02'.repeat(20)}&port=${port}&uploaded=0&downloaded=0&left=0&compact=1`;
  const reason = async (hash: string, port: number) => {
    const d = decode(await handleAnnounce(store, config, q(hash, port), '127.0.0.1')) as Record<string, Buffer | undefined>;
    return d['failure reason']?.toString();
  };
  assert.equal(await reason('%01', 1), undefined);
  assert.equal(await reason('%01', 2), undefined);
  assert.match((await reason('%01', 3)) ?? '', /too many peers/);
  assert.equal(await reason('%01', 1), undefined, 'a known peer still re-announces');
  assert.match((await reason('%03', 1)) ?? '', /too many torrents/);
  assert.deepEqual(await store.counts(), { swarms: 1, peers: 2 });
});
