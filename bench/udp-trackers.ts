/**
 * Trackers with their UDP side (BEP 15) up, for bench/tracker-udp.ts and bench/tracker-redis.ts:
 * ours (`node dist/tracker.js`, UDP on the HTTP port's number), opentracker (`listen.tcp_udp`, as
 * bench/tracker-load.ts starts it) and bittorrent-tracker with its UDP server
 * (bench/bittorrent-tracker-server.mjs udp). Each answers HTTP on the same port number too, so
 * the HTTP pre-population loader of bench/tracker-load.ts fills all of them the same way.
 */
import path from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { runCli, runProgram, freePort, type Proc } from '../harness/procs.ts';
import { HERE, ROOT, stop, get, sleep } from './support.ts';
import { startTracker, populate, type RunningTracker, type TrackerKind } from './tracker-load.ts';
import { waitUdpConnect, udpSampleAnnounce, type UdpSample } from './udp-load.ts';

/** The bench's swarms: 10,000 torrents x 20 peers, as the HTTP scenario (tracker-announce.ts). */
export const UDP_TORRENTS = 10_000;
export const UDP_PEERS = 20;

/**
 * Undefined when the built tracker (dist/tracker/) has a UDP side, i.e. some module of it loads
 * node:dgram; else the reason its UDP rows are skipped (a build from before the UDP tracker).
 */
export function oursWithoutUdp(): string | undefined {
  const dir = path.join(ROOT, 'dist', 'tracker');
  try {
    const js = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    if (js.some((f) => /from ['"](node:)?dgram['"]/.test(readFileSync(path.join(dir, f), 'utf8')))) return undefined;
  } catch {
    return `no ${dir}: npm run build`;
  }
  return 'this build of our tracker has no UDP side (no module of dist/tracker/ loads node:dgram)';
}

/** Resolves once GET /scrape answers 200 on 127.0.0.1:port (every worker of a cluster listens). */
async function waitHttp(port: number, proc: Proc, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`tracker exited (${proc.child.exitCode}):\n${proc.out()}${proc.err()}`);
    try {
      const res = await get(`http://127.0.0.1:${port}/scrape`, 2000);
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`tracker on ${port} not answering HTTP: ${last}\n${proc.out()}${proc.err()}`);
}

/**
 * Our tracker on a free port (`--interval 1800` as in the HTTP scenario, plus `args`, e.g.
 * `--store redis://...` or `--workers 2`), once its HTTP side and (unless `udp` is false) its UDP
 * side answer. `env` e.g. `{ P2P_UDP_BATCH: '0' }`: its UDP side on node:dgram, not the addon.
 */
export async function startOursUdp(dir: string, args: string[] = [], opts: { nodeArgs?: string[]; udp?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<RunningTracker> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const proc = runCli('tracker', ['--port', String(port), '--interval', '1800', ...args], { cwd: dir, nodeArgs: opts.nodeArgs, env: opts.env });
    try {
      await waitHttp(port, proc);
      if (opts.udp ?? true) await waitUdpConnect(port, proc);
      return { kind: 'ours', port, proc, pid: proc.child.pid! };
    } catch (e) {
      await stop(proc);
      if (attempt < 5 && /EADDRINUSE|in use/i.test(proc.err() + proc.out())) continue;
      throw e;
    }
  }
}

/** An anchor with UDP up: opentracker (whitelist `hashFile`) or bittorrent-tracker. */
export async function startAnchorUdp(kind: Exclude<TrackerKind, 'ours'>, dir: string, hashFile: string): Promise<RunningTracker> {
  for (let attempt = 1; ; attempt++) {
    let t: RunningTracker | undefined;
    try {
      if (kind === 'opentracker') {
        t = await startTracker('opentracker', dir, hashFile);
      } else {
        const port = await freePort();
        const proc = runProgram('bittorrent-tracker-udp', [process.execPath, path.join(HERE, 'bittorrent-tracker-server.mjs'), String(port), 'udp'], { cwd: dir });
        t = { kind, port, proc, pid: proc.child.pid! };
        await proc.waitFor(/listening on http:\/\//, 30_000);
        await waitHttp(port, proc);
      }
      await waitUdpConnect(t.port, t.proc);
      return t;
    } catch (e) {
      await stop(t?.proc);
      if (attempt < 5 && t && /EADDRINUSE|in use|bind/i.test(t.proc.err() + t.proc.out())) continue;
      throw e;
    }
  }
}

/** Fill a tracker with every (torrent, peer) once over HTTP (bench/tracker-load.ts); announces/s. */
export function populateOver(t: RunningTracker, hashes: Buffer[]): Promise<number> {
  return populate(t.port, hashes, UDP_PEERS, { keepAlive: t.kind !== 'opentracker' });
}

/**
 * A UDP announce of a random pre-populated peer must list the swarm: >= 19 other peers of 20
 * (opentracker lists the announcer too), seeders + leechers = 20. Returns a line for the log.
 */
export async function verifyUdp(t: RunningTracker, hashes: Buffer[]): Promise<string> {
  const hash = hashes[Math.floor(Math.random() * hashes.length)]!;
  let s: UdpSample | undefined;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3 && !s; attempt++) {
    // A datagram can be dropped by a tracker still draining the last run's queue: ask again.
    s = await udpSampleAnnounce(t.port, hash, UDP_PEERS - 1, UDP_PEERS).catch((e: Error) => ((lastError = e), undefined));
  }
  if (!s) throw new Error(`${t.kind}: UDP sample announce failed: ${lastError?.message}`);
  if (s.peers < UDP_PEERS - 1 || s.seeders + s.leechers < UDP_PEERS) {
    throw new Error(`${t.kind}: UDP sample announce lists ${s.peers} peers, ${s.seeders} seeders + ${s.leechers} leechers; want >= ${UDP_PEERS - 1} peers of ${UDP_PEERS}`);
  }
  return `${s.peers} peers, ${s.seeders} seeders, ${s.leechers} leechers, ${s.bytes} bytes`;
}
