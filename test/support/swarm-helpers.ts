/**
 * Test support for the swarm, resume, fault and multi-file tests: spawn a seeder / requester on
 * free ports in a `Scope`, read /stats and a tracker's /peers, streaming SHA-1, a folder tree
 * listing, resume-state pieces, polling. (Re-exported by bad-peers.ts, where the tests import it.)
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, lstat, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { freePort, type Proc } from './procs.ts';
import type { Scope } from './bad-peers.ts';

export interface Seeder {
  proc: Proc;
  port: number;
  infoHash: string;
  /** The `.torrent` it wrote in its working folder. */
  torrent: string;
}

/** Start `src/seeder.ts FILE` on a free port; resolves when it is serving. */
export async function startSeeder(scope: Scope, cwd: string, file: string, announceUrl: string, extra: string[] = [], timeoutMs = 60_000): Promise<Seeder> {
  const port = await freePort();
  const proc = scope.spawn('seeder', [file, '--port', String(port), '--tracker', announceUrl, ...extra], cwd);
  const m = await proc.waitFor(/^Info hash: ([0-9a-f]{40})$/m, timeoutMs);
  await proc.waitFor(new RegExp(`^\\* Running on http://127\\.0\\.0\\.1:${port}$`, 'm'), timeoutMs);
  return { proc, port, infoHash: m[1]!, torrent: path.join(cwd, `${path.basename(path.resolve(cwd, file))}.torrent`) };
}

export interface Requester {
  proc: Proc;
  port: number;
}

/** Start `src/requester.ts TORRENT` on a free port (or `port`). */
export async function startRequester(scope: Scope, cwd: string, torrent: string, extra: string[] = [], port?: number): Promise<Requester> {
  const p = port ?? (await freePort());
  const proc = scope.spawn('requester', [torrent, '--port', String(p), ...extra], cwd);
  return { proc, port: p };
}

/** Resolve with the exit code, or reject (with the output) after `timeoutMs`. */
export async function exitWithin(proc: Proc, timeoutMs: number, what = 'process'): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      proc.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} still running after ${timeoutMs} ms\nstdout:\n${proc.out()}\nstderr:\n${proc.err()}`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** GET a URL and parse its JSON body (fresh connection each time). */
export function getJson<T = unknown>(url: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new Error(`not JSON from ${url} (HTTP ${res.statusCode}): ${text}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.on('error', reject);
  });
}

export interface PeerStats {
  uploaded: number;
  torrents: Array<{ info_hash: string; name: string; pieces: number; have: number }>;
}

export function peerStats(port: number): Promise<PeerStats> {
  return getJson<PeerStats>(`http://127.0.0.1:${port}/stats`);
}

export interface TrackerPeerEntry {
  ip: string;
  port: number;
  peer_id: string;
  seeder: boolean;
}

export async function trackerPeers(trackerPort: number, infoHashHex: string): Promise<TrackerPeerEntry[]> {
  const r = await getJson<{ peers: TrackerPeerEntry[] }>(`http://127.0.0.1:${trackerPort}/peers?info_hash=${infoHashHex}`);
  return r.peers;
}

// ------------------------------------------------------------------------------ files

export async function sha1File(file: string): Promise<string> {
  const h = createHash('sha1');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function sha1(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}

/** Every entry under `root` as `relative/path` (folders end in `/`), sorted; symlinks not followed. */
export async function listAll(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(abs: string, rel: string): Promise<void> {
    for (const e of await readdir(abs)) {
      const st = await lstat(path.join(abs, e));
      const r = rel ? `${rel}/${e}` : e;
      if (st.isDirectory()) {
        out.push(r + '/');
        await walk(path.join(abs, e), r);
      } else {
        out.push(r);
      }
    }
  }
  await walk(root, '');
  return out.sort();
}

/** Count the pieces recorded in a resume state file (null if absent or unreadable). */
export async function recordedPieces(stateFile: string): Promise<{ count: number; pieceCount: number; have: (i: number) => boolean } | null> {
  let j: { version?: number; pieceCount?: number; bitfield?: string };
  try {
    j = JSON.parse(await readFile(stateFile, 'utf8')) as typeof j;
  } catch {
    return null;
  }
  if (j.version !== 1 || typeof j.bitfield !== 'string' || typeof j.pieceCount !== 'number') return null;
  const bytes = Buffer.from(j.bitfield, 'base64');
  const have = (i: number) => i >= 0 && i < j.pieceCount! && ((bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
  let count = 0;
  for (let i = 0; i < j.pieceCount; i++) if (have(i)) count++;
  return { count, pieceCount: j.pieceCount, have };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `f` every `everyMs` until it returns a truthy value; reject after `timeoutMs`. */
export async function until<T>(f: () => Promise<T> | T, timeoutMs: number, what: string, everyMs = 50): Promise<NonNullable<T>> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
