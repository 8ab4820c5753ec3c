/**
 * Command-line conventions of the three programs: our own one-line messages and status 2 for an
 * unknown option, a missing value, stray arguments, and flags that `npm run x --flag` (no `--`)
 * gave to npm; --version. Spawns the real programs (and npm itself for the npm trap).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import net from 'node:net';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { ROOT, freePort, startTracker, tempDir } from '../support/procs.ts';
import { Scope, exitWithin, getJson, until } from '../support/bad-peers.ts';
import { flagsNpmAte } from '../../src/cli/common.ts';

function run(entry: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', `${entry}.js`), ...args], { encoding: 'utf8', timeout: 20_000, input: '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const entry of ['tracker', 'seeder', 'requester']) {
  test(`${entry}: an unknown option or a missing value is one line of ours, status 2`, () => {
    const bogus = run(entry, ['--bogus']);
    assert.equal(bogus.status, 2);
    assert.equal(bogus.stderr, 'Error: unknown option --bogus (--help lists the options)\n');
    const missing = run(entry, ['--port']);
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, 'Error: --port needs a value (--help lists the options)\n');
    const quote = run(entry, ["--it's"]);
    assert.equal(quote.status, 2);
    assert.doesNotMatch(quote.stderr, /positional argument|place it at the end/, "node's own advice does not leak");
  });

  test(`${entry}: --version prints the name and version`, () => {
    const r = run(entry, ['--version']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^p2p-bittorrent \d+\.\d+\.\d+\n$/);
  });
}

test('stray arguments are refused, not ignored', () => {
  const tracker = run('tracker', ['7241']);
  assert.equal(tracker.status, 2);
  assert.equal(tracker.stderr, 'Error: unexpected argument: 7241 (this program takes none; --help lists the options)\n');
  // The seeder takes many files (issue #18), but not the same one twice.
  const seeder = run('seeder', ['a.bin', 'a.bin']);
  assert.equal(seeder.status, 2);
  assert.equal(seeder.stderr, 'Error: a.bin is given twice\n');
});

test('flagsNpmAte: a flag npm set for itself, only when npm started this program', () => {
  const env = { npm_lifecycle_event: 'tracker', npm_lifecycle_script: 'node dist/tracker.js', npm_config_port: 'true', npm_config_udp: 'false' };
  const argv = ['/usr/bin/node', '/x/dist/tracker.js', '7241'];
  assert.deepEqual(flagsNpmAte(['host', 'port', 'no-udp'], env, argv), ['port', 'no-udp']);
  assert.deepEqual(flagsNpmAte(['port'], env, [...argv, '--port', '1']), [], 'the flag reached us too');
  assert.deepEqual(flagsNpmAte(['port'], { ...env, npm_lifecycle_script: 'node --test x' }, argv), [], '`npm test` spawning us');
  assert.deepEqual(flagsNpmAte(['port'], {}, argv), [], 'not under npm');
});

test('`npm run tracker --port N` (no --) is caught: npm ate the flag', () => {
  const r = spawnSync('npm', ['run', '--silent', 'tracker', '--port', '7241'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, /^Error: npm took --port for itself: put `--` before the program's flags, as in `npm run tracker -- --port \.\.\.`$/m);
  assert.doesNotMatch(r.stdout, /Running on/, 'the tracker did not start on 5001');
});

test('a busy port: one line naming --port, and the seeder writes nothing', { timeout: 30_000 }, async () => {
  const { dir, remove } = await tempDir('p2p-busy-');
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    await writeFile(path.join(dir, 'a.txt'), 'hello\n');
    const seeder = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'seeder.js'), 'a.txt', '--port', String(port)], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
    assert.equal(seeder.status, 1);
    assert.equal(seeder.stderr, `Error: cannot listen on 127.0.0.1:${port}: the port is in use by another program; choose another with --port\n`);
    assert.deepEqual(await readdir(dir), ['a.txt'], 'no torrent, no folder written');
    const tracker = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'tracker.js'), '--port', String(port), '--no-udp'], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
    assert.equal(tracker.status, 1);
    assert.equal(tracker.stderr, `Error: cannot listen on 127.0.0.1:${port}: the port is in use by another program; choose another with --port\n`);
  } finally {
    busy.close();
    await remove();
  }
});

test('-q: seeder and requester print nothing but errors; -p and -o are --port and --out', { timeout: 60_000 }, async () => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-quiet-');
    await writeFile(path.join(dir, 'q.bin'), randomBytes(30_000));
    const tracker = await startTracker(dir);
    scope.adopt(tracker.proc);
    const seedPort = await freePort();
    const seeder = scope.spawn('seeder', ['q.bin', '-q', '-p', String(seedPort), '--tracker', tracker.announce], dir);
    await until(() => getJson(`http://127.0.0.1:${seedPort}/stats`).then(() => true, () => false), 30_000, 'the quiet seeder to serve');
    const req = scope.spawn('requester', [path.join('peer_6882', 'q.bin.torrent'), '-q', '-p', String(await freePort()), '-o', 'dl', '--no-seed'], dir);
    assert.equal(await exitWithin(req, 30_000, 'requester'), 0, req.err());
    assert.equal(req.out(), '', 'the requester printed nothing');
    assert.ok((await readFile(path.join(dir, 'dl', 'q.bin'))).equals(await readFile(path.join(dir, 'q.bin'))), 'the file arrived (in -o dl)');
    seeder.kill('SIGTERM');
    assert.equal(await exitWithin(seeder, 10_000, 'seeder'), 0);
    assert.equal(seeder.out(), '', 'the seeder printed nothing, not even its closing line');
  } finally {
    await scope.dispose();
  }
});
