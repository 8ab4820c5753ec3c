/**
 * Hostile DHT traffic against a running seeder (its DHT on, bootstrapped from a local DHT): five
 * seconds of KRPC floods from 20 sources (malformed, deeply nested, wrong types that crash an
 * unguarded bittorrent-dht, huge tokens and node lists). The process lives, its memory stays flat,
 * and it still answers a ping and serves its data afterwards.
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { encode, decode, isDict } from '../../src/metainfo/bencode.ts';
import { TestScope, freePort } from '../support/procs.ts';
import { rssBytes } from '../support/attack-peer.ts';
import { startLocalDht } from '../support/local-dht.ts';

const scope = new TestScope('dht-hostile-');
after(() => scope.cleanup());

const ID = 'a'.repeat(20);
const HOSTILE = [
  Buffer.from('l-3:'),
  Buffer.from(`d1:a${'l'.repeat(900)}${'e'.repeat(900)}1:t2:aa1:y1:qe`),
  Buffer.from(`d1:ad2:id20:${ID}9:info_hash20:${ID}4:porti6881e5:tokeni5ee1:q13:announce_peer1:t2:aa1:y1:qe`),
  Buffer.from(`d1:ad2:id20:${ID}9:info_hashi5ee1:q9:get_peers1:t2:aa1:y1:qe`),
  Buffer.from(`d1:rd2:id20:${ID}5:token1200:${'x'.repeat(1200)}e1:t2:aa1:y1:re`),
  Buffer.from(`d1:rd2:id20:${ID}5:nodes1040:${'n'.repeat(1040)}e1:t2:aa1:y1:re`),
  Buffer.from(`d1:ad9:__proto__d1:xi1ee2:id20:${ID}e1:q4:ping1:t2:aa1:y1:qe`),
  Buffer.concat([Buffer.from('d'), randomBytes(600)]),
];

async function udpSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

async function ping(port: number): Promise<boolean> {
  const s = await udpSocket();
  const answered = new Promise<boolean>((r) => {
    s.once('message', (m) => r(isDict(decode(m))));
    setTimeout(() => r(false), 2000);
  });
  s.send(encode({ t: Buffer.from('pp'), y: 'q', q: 'ping', a: { id: Buffer.alloc(20, 3) } }), port, '127.0.0.1');
  const ok = await answered;
  s.close();
  return ok;
}

test('a seeder flooded with hostile KRPC lives, keeps its memory, and still answers', async (t) => {
  const local = await startLocalDht(5);
  t.after(() => local.close());
  const dir = await scope.dir();
  await writeFile(path.join(dir, 'h.bin'), randomBytes(100_000));
  const port = await freePort();
  const seeder = scope.spawn('seeder', ['h.bin', '--port', String(port), '--tracker', 'http://127.0.0.1:1/announce', '--no-web-seed', '--requester-dir', 'req', '--dht-bootstrap', local.bootstrap], { cwd: dir });
  await seeder.waitFor(/\* Running on/, 30_000);
  assert.ok(await ping(port), 'answers a ping before');
  const rssBefore = rssBytes(seeder.child.pid!);
  const sockets = await Promise.all(Array.from({ length: 20 }, udpSocket));
  let sent = 0;
  const end = Date.now() + 5_000;
  while (Date.now() < end) {
    for (const s of sockets) for (let i = 0; i < 10; i++) s.send(HOSTILE[sent++ % HOSTILE.length]!, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 2));
  }
  for (const s of sockets) s.close();
  assert.equal(seeder.child.exitCode, null, `the seeder died\n${seeder.err()}`);
  const grown = rssBytes(seeder.child.pid!) - rssBefore;
  t.diagnostic(`${sent} hostile datagrams in 5 s; seeder RSS ${(rssBefore / 2 ** 20).toFixed(1)} MiB, grew ${(grown / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(grown < 32 * 2 ** 20, `RSS grew ${grown} bytes`);
  // the kernel's queue still holds some of the flood, which the global budget meets first: allow a few seconds
  let answered = false;
  for (let i = 0; i < 5 && !answered; i++) answered = await ping(port);
  assert.ok(answered, 'answers a ping after');
  // node:http, not fetch: fetch refuses some ports
  const status = await new Promise<number | undefined>((r) => http.get(`http://127.0.0.1:${port}/stats`, (res) => (res.resume(), r(res.statusCode))).on('error', () => r(undefined)));
  assert.equal(status, 200, 'still serves HTTP');
});
