import test from 'node:test';
import assert from 'node:assert/strict';
import { parseBootstrapList, parseDhtFlags, PUBLIC_BOOTSTRAP } from '../../src/cli/dht-flags.ts';
import { TestScope, within } from '../support/procs.ts';

test('--dht-bootstrap takes HOST:PORT,... with names or IPv4 addresses', () => {
  assert.deepEqual(parseBootstrapList('127.0.0.1:6881, router.example.org:1'), [
    { host: '127.0.0.1', port: 6881 },
    { host: 'router.example.org', port: 1 },
  ]);
  for (const bad of ['', ',', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', 'a:b', '[::1]:6881', '::1:6881', 'x y:1', Array(17).fill('a:1').join(',')]) {
    assert.equal(parseBootstrapList(bad), null, bad);
  }
});

test('the DHT is on by default with the public routers, its table in the peer folder; --no-dht turns it off', () => {
  const on = parseDhtFlags({}, 'peer_6882')!;
  assert.deepEqual(on.bootstrap.map((n) => `${n.host}:${n.port}`), PUBLIC_BOOTSTRAP);
  assert.equal(on.stateFile, 'peer_6882/.dht-nodes.json');
  assert.deepEqual(parseDhtFlags({ 'dht-bootstrap': '127.0.0.1:9' }, 'd')!.bootstrap, [{ host: '127.0.0.1', port: 9 }]);
  assert.equal(parseDhtFlags({ 'no-dht': true }, 'd'), undefined);
});

test('a bad --dht-bootstrap or --dht with --no-dht is a usage error (status 2)', async (t) => {
  const scope = new TestScope('dht-flags-');
  t.after(() => scope.cleanup());
  const dir = await scope.dir();
  for (const args of [['--dht-bootstrap', 'nope'], ['--dht', '--no-dht']]) {
    const p = scope.spawn('requester', ['x.torrent', ...args], { cwd: dir });
    assert.equal(await within(p.exited, 20_000, 'the requester'), 2, args.join(' '));
    assert.match(p.err(), /--dht/);
  }
});
