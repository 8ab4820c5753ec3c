/**
 * Trackers under load, for tracker-announce.ts and memory.ts: the three trackers (ours,
 * opentracker, bittorrent-tracker) started the same way, a fast pre-population loader (HTTP
 * keep-alive, many requests in flight, the same for all three), a sample announce that must
 * decode and list peers, and wrk with bench/announce.lua.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decode, isBytes, isDict, isInt } from '../src/metainfo/bencode.ts';
import { freePort, runProgram, type Proc } from '../harness/procs.ts';
import { HERE, runOurs, stop, sleep, get, run as runToEnd } from './support.ts';

export type TrackerKind = 'ours' | 'opentracker' | 'bittorrent-tracker';

export const PORT_BASE = 20000;

/** `n` distinct deterministic info_hashes. */
export function benchInfoHashes(n: number, salt = 'bench-torrent'): Buffer[] {
  return Array.from({ length: n }, (_, i) => createHash('sha1').update(`${salt}-${i}`).digest());
}

export async function writeHashFile(file: string, hashes: Buffer[]): Promise<void> {
  await writeFile(file, hashes.map((h) => h.toString('hex')).join('\n') + '\n');
}

const pct = (b: Buffer) => b.toString('hex').replace(/../g, '%$&');

/** The announce the loader and the sample use: peer `slot` of a torrent (a quarter are seeders). */
export function announcePath(hash: Buffer, slot: number, peers: number, peerId: Buffer, event?: string): string {
  const left = slot < peers / 4 ? 0 : 734003200;
  return (
    `/announce?info_hash=${pct(hash)}&peer_id=${pct(peerId)}&port=${PORT_BASE + slot}` +
    `&uploaded=0&downloaded=0&left=${left}&compact=1&numwant=50${event ? `&event=${event}` : ''}`
  );
}

function loaderPeerId(t: number, slot: number): Buffer {
  const id = Buffer.alloc(20);
  id.write('-BL0001-', 'latin1');
  id.writeUInt32BE(t, 8);
  id.writeUInt32BE(slot, 12);
  id.writeUInt32BE(0x5eed, 16);
  return id;
}

/**
 * Announce every (torrent, slot) once with event=started: `hashes.length x peers` distinct peers
 * (127.0.0.1, ports PORT_BASE..PORT_BASE+peers-1). Keep-alive connections, `concurrency` requests
 * in flight. Resolves with the number of requests per second it managed.
 */
export async function populate(port: number, hashes: Buffer[], peers: number, opts: { concurrency?: number; keepAlive?: boolean } = {}): Promise<number> {
  const concurrency = opts.concurrency ?? 64;
  // opentracker closes every connection after its answer (no keep-alive): a reused socket would
  // race it. (An agent with a finite maxSockets asks for keep-alive even when keepAlive is false.)
  const agent = opts.keepAlive ?? true ? new http.Agent({ keepAlive: true, maxSockets: concurrency }) : new http.Agent({ keepAlive: false });
  const total = hashes.length * peers;
  let next = 0;
  let failures = 0;
  let firstFailure = '';
  const t0 = performance.now();
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const t = i % hashes.length; // torrents interleaved: every swarm grows together
      const slot = Math.floor(i / hashes.length);
      const req = http.get({ host: '127.0.0.1', port, path: announcePath(hashes[t]!, slot, peers, loaderPeerId(t, slot), 'started'), agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          if (res.statusCode !== 200 || body.includes('failure reason')) {
            failures++;
            firstFailure ||= `HTTP ${res.statusCode}: ${body.toString('latin1').slice(0, 200)}`;
          }
          resolve();
        });
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error('announce timed out')));
      req.on('error', (e) => { console.error('DEBUG', i, (e as Error).message); reject(e); });
    });
  const worker = async () => {
    while (next < total) {
      const i = next++;
      for (let attempt = 1; ; attempt++) {
        try {
          await one(i);
          break;
        } catch (e) {
          // A server that closes keep-alive connections (opentracker) can race a reused socket.
          if (attempt >= 3) throw e;
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  if (failures) throw new Error(`${failures} of ${total} pre-population announces failed; first: ${firstFailure}`);
  return total / ((performance.now() - t0) / 1000);
}

export interface SampleAnswer {
  peers: number;
  complete: number;
  incomplete: number;
  bytes: number;
}

/** One announce as wrk sends it (fresh peer_id, no event); the answer must decode and list peers. */
export async function sampleAnnounce(port: number, hash: Buffer, peers: number): Promise<SampleAnswer> {
  const peerId = Buffer.concat([Buffer.from('-WR0001-'), createHash('sha1').update(String(Math.random())).digest().subarray(0, 12)]);
  const res = await get(`http://127.0.0.1:${port}${announcePath(hash, peers - 1, peers, peerId)}`);
  if (res.status !== 200) throw new Error(`sample announce: HTTP ${res.status}`);
  const d = decode(res.body);
  if (!isDict(d)) throw new Error('sample announce: answer is not a bencoded dictionary');
  const failure = d['failure reason'];
  if (isBytes(failure)) throw new Error(`sample announce: failure reason: ${failure.toString()}`);
  const p = d['peers'];
  if (!isBytes(p) || p.length % 6 !== 0) throw new Error('sample announce: no compact peers string');
  const complete = d['complete'];
  const incomplete = d['incomplete'];
  if (!isInt(complete) || !isInt(incomplete)) throw new Error('sample announce: no complete/incomplete counts');
  return { peers: p.length / 6, complete, incomplete, bytes: res.body.length };
}

export interface RunningTracker {
  kind: TrackerKind;
  port: number;
  proc: Proc;
  pid: number;
}

/**
 * Start a tracker on a free port, announce interval 1800 s for all three.
 *   ours: node dist/tracker.js (node flags such as --cpu-prof through `nodeArgs`)
 *   opentracker: a config in `dir` with the whitelist `hashFile` (Debian's build is whitelist-only)
 *   bittorrent-tracker: bench/bittorrent-tracker-server.mjs, in its own process
 */
export async function startTracker(kind: TrackerKind, dir: string, hashFile: string, opts: { nodeArgs?: string[] } = {}): Promise<RunningTracker> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let proc: Proc;
    if (kind === 'ours') {
      proc = runOurs('tracker', ['--port', String(port), '--interval', '1800'], { cwd: dir, nodeArgs: opts.nodeArgs });
    } else if (kind === 'opentracker') {
      // opentracker (run as root) chroots to tracker.rootdir and drops to user nobody, whose
      // thread then reads the whitelist relative to that root: a folder and file anyone can read
      // (the bench's temporary folders are 0700).
      const root = path.join(dir, `opentracker-root-${port}`);
      await mkdir(root, { recursive: true });
      await chmod(root, 0o755);
      await copyFile(hashFile, path.join(root, 'whitelist.txt'));
      await chmod(path.join(root, 'whitelist.txt'), 0o644);
      const conf = path.join(dir, `opentracker-${port}.conf`);
      await writeFile(conf, `listen.tcp_udp 127.0.0.1:${port}\ntracker.rootdir ${root}\naccess.whitelist whitelist.txt\n`);
      proc = runProgram('opentracker', ['opentracker', '-f', conf], { cwd: dir });
    } else {
      proc = runProgram('bittorrent-tracker', [process.execPath, path.join(HERE, 'bittorrent-tracker-server.mjs'), String(port)], { cwd: dir });
    }
    try {
      if (kind === 'ours') await proc.waitFor(/\* Running on http:\/\//, 30_000);
      else if (kind === 'bittorrent-tracker') await proc.waitFor(/listening on http:\/\//, 30_000);
      // opentracker prints nothing when it is up: wait until it answers (the whitelist is loaded
      // by a thread of its own, so wait for a whitelisted torrent not to be refused).
      await waitAnswering(port, kind === 'opentracker' ? hashFile : undefined, proc);
      return { kind, port, proc, pid: proc.child.pid! };
    } catch (e) {
      await stop(proc);
      if (attempt < 5 && /EADDRINUSE|in use|bind/i.test(proc.err() + proc.out())) continue;
      throw e;
    }
  }
}

async function waitAnswering(port: number, hashFile: string | undefined, proc: Proc): Promise<void> {
  const deadline = Date.now() + 20_000;
  // opentracker answers a scrape of any hash; an announce of a whitelisted one is refused until
  // its whitelist thread has loaded the file, which it does in steps: so both the first and the
  // last hash of the file must be accepted.
  let probes = ['/scrape'];
  if (hashFile) {
    const lines = (await readFile(hashFile, 'utf8')).split('\n').filter((l) => l.length === 40);
    probes = [lines[0]!, lines.at(-1)!].map((h) => announcePath(Buffer.from(h, 'hex'), 0, 4, Buffer.from('-PR0001-000000000000'), 'stopped'));
  }
  let last = '';
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`tracker exited (${proc.child.exitCode}):\n${proc.out()}${proc.err()}`);
    let ok = 0;
    for (const probe of probes) {
      try {
        const res = await get(`http://127.0.0.1:${port}${probe}`, 2000);
        last = `HTTP ${res.status} ${res.body.toString('latin1').slice(0, 100)}`;
        if (res.status === 200 && !res.body.includes('failure reason')) ok++;
      } catch (e) {
        last = (e as Error).message;
      }
    }
    if (ok === probes.length) return;
    await sleep(100);
  }
  throw new Error(`tracker on ${port} not answering: ${last}\n${proc.out()}${proc.err()}`);
}

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** connect and write errors and timeouts: none expected. */
  errors: number;
  /**
   * Connections closed by the server after an answer that did not say so: opentracker closes
   * every connection after its answer, and wrk counts each such close as a read error.
   */
  readErrors: number;
  /** Answers that were not 2xx: none expected. */
  statusErrors: number;
  bytesPerResponse: number;
}

/** wrk with bench/announce.lua against 127.0.0.1:port. */
export async function runWrk(port: number, hashFile: string, peers: number, opts: { close: boolean; seconds: number; threads: number; connections: number }): Promise<WrkResult> {
  const argv = [
    'wrk',
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    '--timeout', '5s',
    '-s', path.join(HERE, 'announce.lua'),
    ...(opts.close ? ['-H', 'Connection: close'] : []),
    `http://127.0.0.1:${port}`,
    '--', hashFile, String(peers), String(PORT_BASE),
  ];
  const { stdout } = await runToEnd(argv, { timeoutMs: (opts.seconds + 60) * 1000 });
  const m = /WRK_JSON (\{.*\})/.exec(stdout);
  if (!m) throw new Error(`wrk printed no WRK_JSON line:\n${stdout}`);
  const j = JSON.parse(m[1]!) as Record<string, number>;
  const requests = j['requests']!;
  const errors = j['connect_errors']! + j['write_errors']! + j['timeouts']!;
  return {
    requestsPerSecond: requests / (j['duration_us']! / 1e6),
    p50Ms: j['p50_us']! / 1000,
    p99Ms: j['p99_us']! / 1000,
    requests,
    errors,
    readErrors: j['read_errors']!,
    statusErrors: j['status_errors']!,
    bytesPerResponse: requests ? j['bytes']! / requests : 0,
  };
}
