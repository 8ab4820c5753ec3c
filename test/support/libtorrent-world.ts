/**
 * libtorrent peers in a NetnsWorld (test/support/netns-world.ts): a libtorrent seeder of a file
 * (torrent made by libtorrent itself, registered with our tracker), a libtorrent leecher, our
 * requester, and the checks the interop tests share.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, until, type Proc } from './procs.ts';
import type { NetnsWorld } from './netns-world.ts';
import { makeTorrentWithLibtorrent, startLibtorrent, type LibtorrentPeer, type LtConfig, type LtPeer } from '../../harness/libtorrent.ts';

export const MiB = 1024 * 1024;

export async function sameBytes(file: string, data: Buffer): Promise<boolean> {
  try {
    return (await readFile(file)).equals(data);
  } catch {
    return false;
  }
}

/** A file of random bytes `name` in `dir` (sizes here are not multiples of 16 KiB: a short last piece). */
export async function randomFile(dir: string, name: string, size: number): Promise<Buffer> {
  await mkdir(dir, { recursive: true });
  const data = randomBytes(size);
  await writeFile(path.join(dir, name), data);
  return data;
}

/** The last lines of each of our programs' output (progress lines use \r: one a line here). */
export function transcript(...ps: Array<[string, Proc]>): string {
  const tail = (s: string) => s.replace(/\r/g, '\n').replace(/\n{2,}/g, '\n').slice(-3000);
  return ps.map(([n, p]) => `--- ${n} stdout:\n${tail(p.out())}\n--- ${n} stderr:\n${tail(p.err())}`).join('\n');
}

/** The peers our tracker lists for a torrent (its JSON /peers page). */
export async function trackerPeers(w: NetnsWorld, trackerPort: number, infoHashHex: string): Promise<Array<{ port: number; seeder: boolean }>> {
  const r = await w.get(`http://127.0.0.1:${trackerPort}/peers?info_hash=${infoHashHex}`);
  return (JSON.parse(r.body.toString()) as { peers: Array<{ port: number; seeder: boolean }> }).peers;
}

let folders = 0;

/** Start a libtorrent peer in the world (killed with it); paths relative to the world's folder. */
export async function ltPeer(w: NetnsWorld, config: LtConfig, label: string): Promise<LibtorrentPeer> {
  const lt = await startLibtorrent(w.ns, config, { cwd: w.dir, label });
  w.adopt(lt.proc);
  return lt;
}

export interface LtSeed {
  lt: LibtorrentPeer;
  torrent: string;
  infoHash: string;
  numPieces: number;
}

/**
 * A libtorrent seeder of `data` (a torrent made by libtorrent, announce = our tracker), once it
 * seeds and our tracker lists it as a seeder. `torrent` exists already when given (a second seeder
 * of the same torrent).
 */
export async function ltSeeder(
  w: NetnsWorld,
  tracker: { port: number; announce: string },
  data: Buffer,
  opts: { name: string; pieceLength: number; config?: Partial<LtConfig>; torrent?: LtSeed },
): Promise<LtSeed> {
  const dir = path.join(w.dir, `lt-seed-${++folders}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, opts.name), data);
  const torrent = opts.torrent?.torrent ?? path.join(w.dir, `${opts.name}.torrent`);
  const made = opts.torrent ?? { ...(await makeTorrentWithLibtorrent({ file: path.join(dir, opts.name), torrent, pieceLength: opts.pieceLength, tracker: tracker.announce })), torrent };
  const lt = await ltPeer(w, { role: 'seeder', torrent, save_path: dir, ...opts.config }, `libtorrent seeder ${folders}`);
  const superSeeding = opts.config?.super_seeding === true;
  await lt.waitFor((l) => l.state === 'seeding' && (!superSeeding || l.super_seeding === true), 20_000, 'seeding');
  await until(
    async () => (await trackerPeers(w, tracker.port, made.infoHash)).some((p) => p.port === lt.port && p.seeder),
    15_000,
    () => `our tracker lists the libtorrent seeder\n${lt.transcript()}`,
  );
  return { lt, torrent, infoHash: made.infoHash, numPieces: made.numPieces };
}

/** A libtorrent leecher of `torrent` into a fresh folder; `file` is where the data lands. */
export async function ltLeecher(w: NetnsWorld, torrent: string, name: string, config: Partial<LtConfig> = {}): Promise<{ lt: LibtorrentPeer; file: string }> {
  const dir = path.join(w.dir, `lt-leech-${++folders}`);
  await mkdir(dir, { recursive: true });
  const lt = await ltPeer(w, { role: 'leecher', torrent, save_path: dir, ...config }, `libtorrent leecher ${folders}`);
  return { lt, file: path.join(dir, name) };
}

/** Our requester on `torrent` (no seeding after), into a fresh folder. */
export async function ourRequester(w: NetnsWorld, torrent: string, name: string, extra: string[] = []): Promise<{ proc: Proc; file: string; port: number }> {
  const out = `req-${++folders}`;
  const port = await freePort();
  const proc = w.cli('requester', [torrent, '--port', String(port), '--out', out, '--no-seed', '--wait', '20', ...extra]);
  return { proc, file: path.join(w.dir, out, name), port };
}

/** The peer libtorrent met at `port` (our seeder: the port it listens on). */
export function peerAt(seen: LtPeer[], port: number): LtPeer {
  const p = seen.find((x) => x.port === port);
  assert.ok(p, `libtorrent met a peer at port ${port}: ${JSON.stringify(seen)}`);
  return p;
}

/** The peers that traded payload with libtorrent (either way). */
export function tradingPeers(seen: LtPeer[]): LtPeer[] {
  return seen.filter((p) => p.total_download > 0 || p.total_upload > 0);
}
