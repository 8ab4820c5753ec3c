/**
 * The dashboard tests' tracker: the real program (dist/tracker.js) with a whitelist whose lines
 * name their torrents (one with a hostile name), and scripted announces over HTTP.
 */
import { writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { freePort, type TestScope } from '../../support/procs.ts';
import { rawRequest } from '../../support/raw-request.ts';

export const HOSTILE = '<img src=x onerror=alert(1)>';
/** 20 bytes, so a whole peer_id. */
export const HOSTILE_PEER_ID = '<img src=x onerror=a';

/** Torrent `i`'s info_hash (hex): SHA-1 of its number. */
export const torrent = (i: number) => createHash('sha1').update(`torrent ${i}`).digest('hex');
export const TORRENTS = 40;
/** Torrent 0 is named HOSTILE; the others `file-<i>.iso`. */
export const nameOf = (i: number) => (i === 0 ? HOSTILE : `file-${i}.iso`);

const pct = (bytes: Buffer) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

export interface Announce {
  torrent: number;
  port: number;
  left: number;
  peerId?: string;
  event?: 'started' | 'completed' | 'stopped';
}

export class DashboardWorld {
  private constructor(
    readonly port: number,
    readonly base: string,
  ) {}

  static async start(scope: TestScope): Promise<DashboardWorld> {
    const dir = await scope.dir();
    const whitelist = path.join(dir, 'whitelist.txt');
    await writeFile(whitelist, [...Array(TORRENTS).keys()].map((i) => `${torrent(i)} ${nameOf(i)}\n`).join(''));
    const port = await freePort();
    const proc = scope.spawn('tracker', ['--port', String(port), '--no-udp', '--whitelist', whitelist], { cwd: dir });
    await proc.waitFor(/\* Running on http:\/\/127\.0\.0\.1:\d+/);
    return new DashboardWorld(port, `http://127.0.0.1:${port}`);
  }

  async announce(a: Announce): Promise<string> {
    const peerId = Buffer.from((a.peerId ?? `-qB4520-${String(a.port).padStart(12, '0')}`).padEnd(20, 'x'), 'latin1');
    const event = a.event === undefined ? '' : `&event=${a.event}`;
    const p = `/announce?info_hash=${pct(Buffer.from(torrent(a.torrent), 'hex'))}&peer_id=${pct(peerId)}&port=${a.port}&uploaded=0&downloaded=0&left=${a.left}&compact=1${event}`;
    const r = await rawRequest({ port: this.port, path: p });
    return r.body.toString('latin1');
  }

  /** An announce for a torrent not on the whitelist (refused: not_registered). */
  async announceUnknown(): Promise<string> {
    const r = await rawRequest({ port: this.port, path: `/announce?info_hash=${'%ee'.repeat(20)}&peer_id=${'%41'.repeat(20)}&port=9&uploaded=0&downloaded=0&left=1&compact=1` });
    return r.body.toString('latin1');
  }

  async json(p: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await rawRequest({ port: this.port, path: p });
    return { status: r.status, body: JSON.parse(r.body.toString('utf8')) as Record<string, unknown> };
  }

  async text(p: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    const r = await rawRequest({ port: this.port, path: p });
    return { status: r.status, headers: r.headers, body: r.body.toString('utf8') };
  }
}

/**
 * The scripted swarm: torrent i (1..12) gets i % 4 seeders and one leecher (port 20000 + i);
 * torrent 0 (the hostile name) one seeder with the hostile peer_id. Then torrent 5's leecher
 * completes.
 */
export async function scriptedSwarm(w: DashboardWorld): Promise<void> {
  await w.announce({ torrent: 0, port: 10000, left: 0, peerId: HOSTILE_PEER_ID });
  for (let i = 1; i <= 12; i++) {
    for (let s = 0; s < i % 4; s++) await w.announce({ torrent: i, port: 11000 + i * 10 + s, left: 0 });
    await w.announce({ torrent: i, port: 20000 + i, left: 100 });
  }
  await w.announce({ torrent: 5, port: 20005, left: 0, event: 'completed' });
}
