/**
 * The swarm of the UDP end-to-end tests, any tracker: the real programs in a loopback-only
 * network namespace; the torrent the requesters use names one tracker only, its udp:// URL.
 *  1. our seeder registers over HTTP (its --tracker takes http:// only);
 *  2. requester 1 finds it over UDP, downloads, and seeds, announcing over UDP;
 *  3. the seeder leaves; requester 2 finds requester 1 over UDP (a peer registered over UDP,
 *     returned over UDP) and downloads from it;
 *  4. requester 1 leaves: its `stopped` over UDP takes it off the tracker's list (0 seeders).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, type Proc, until, within } from '../support/procs.ts';
import type { NetnsWorld } from '../support/netns-world.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { decode, encode, isDict, isInt } from '../../src/metainfo/bencode.ts';

const MiB = 1024 * 1024;

/** The last lines of each program's output, for a failed assertion. */
export function transcript(...ps: Array<[string, Proc]>): string {
  const tail = (s: string) => s.replace(/\r/g, '\n').replace(/\n{2,}/g, '\n').slice(-3000);
  return ps.map(([n, p]) => `--- ${n} stdout:\n${tail(p.out())}\n--- ${n} stderr:\n${tail(p.err())}`).join('\n');
}

/** A tracker's seeder count for `hash` (HTTP scrape), or null when it does not answer. */
export async function scrapeSeeders(w: NetnsWorld, port: number, hash: string): Promise<number | null> {
  const r = await w.tryGet(`http://127.0.0.1:${port}/scrape?info_hash=${hash.replace(/../g, '%$&')}`);
  if (!r || r.status !== 200) return null;
  const top = decode(r.body);
  const files = isDict(top) ? top['files'] : undefined;
  const entry = isDict(files) ? files[Buffer.from(hash, 'hex').toString('latin1')] : undefined;
  if (!isDict(files)) return null;
  const complete = isDict(entry) ? entry['complete'] : 0;
  return isInt(complete) ? complete : 0;
}

/** A tracker under test: its announce URLs, and its seeder count for `hash` (HTTP scrape). */
export interface UdpTrackerUnderTest {
  httpAnnounce: string;
  udpAnnounce: string;
  seeders(hash: string): Promise<number | null>;
  proc: Proc;
}

/**
 * The flow of this file's comment on `tracker`: a seeder over HTTP, then requesters whose torrent
 * names only `tracker.udpAnnounce`; `data` is the content of `u.bin` in w.dir.
 */
export async function udpOnlySwarm(w: NetnsWorld, tracker: UdpTrackerUnderTest, data: Buffer): Promise<void> {
  const seeder = await w.seeder('u.bin', tracker.httpAnnounce, ['--no-web-seed', '--piece-length', '256K']);
  await seeder.proc.waitFor(/^Successfully registered with tracker\.$/m, 10_000);
  const hash = seeder.meta.infoHashHex;

  // The same info dictionary (same info_hash) under a udp:// announce and nothing else.
  const udpUrl = tracker.udpAnnounce;
  const torrent = Buffer.concat([Buffer.from('d8:announce'), encode(udpUrl), Buffer.from('4:info'), seeder.meta.rawInfo, Buffer.from('e')]);
  const meta = parseMetainfo(torrent);
  assert.equal(meta.infoHashHex, hash);
  assert.deepEqual([meta.announce, meta.announceList, meta.urlList], [udpUrl, [], []]);
  await writeFile(path.join(w.dir, 'udp.torrent'), torrent);

  const port1 = await freePort();
  const req1 = w.cli('requester', ['udp.torrent', '--port', String(port1), '--out', 'dl1', '--wait', '20']);
  await req1.waitFor(/^Seeding u\.bin on /m, 45_000).catch((e: Error) => assert.fail(`${e.message}\n${transcript(['requester 1', req1], ['tracker', tracker.proc])}`));
  assert.match(req1.out(), new RegExp(`^Downloading u\\.bin from Seeder 127\\.0\\.0\\.1:${seeder.port}$`, 'm'));
  assert.doesNotMatch(req1.out(), /Tracker (unreachable|said no)/);
  assert.ok((await readFile(path.join(w.dir, 'dl1', 'u.bin'))).equals(data), 'requester 1 has the exact file');
  await until(async () => (await tracker.seeders(hash)) === 2, 10_000, () => 'seeder and requester 1 both listed as seeders');

  seeder.proc.kill('SIGTERM');
  assert.equal(await within(seeder.proc.exited, 10_000, 'seeder to stop'), 0);
  await until(async () => (await tracker.seeders(hash)) === 1, 10_000, () => 'the seeder left the list');

  const port2 = await freePort();
  const req2 = w.cli('requester', ['udp.torrent', '--port', String(port2), '--out', 'dl2', '--no-seed', '--wait', '20']);
  const code = await within(req2.exited, 45_000, 'requester 2 to finish');
  assert.equal(code, 0, transcript(['requester 2', req2], ['requester 1', req1]));
  assert.match(req2.out(), new RegExp(`^Downloading u\\.bin from (?:Seeder|peer) 127\\.0\\.0\\.1:${port1}$`, 'm'), 'a peer registered over UDP, returned over UDP');
  assert.ok((await readFile(path.join(w.dir, 'dl2', 'u.bin'))).equals(data), 'requester 2 has the exact file');

  req1.kill('SIGTERM');
  assert.equal(await within(req1.exited, 10_000, 'requester 1 to stop'), 0);
  await until(async () => (await tracker.seeders(hash)) === 0, 10_000, () => 'requester 1 sent stopped over UDP');
}

export async function randomData(w: NetnsWorld): Promise<Buffer> {
  const data = randomBytes(4 * MiB + 11);
  await writeFile(path.join(w.dir, 'u.bin'), data);
  return data;
}
