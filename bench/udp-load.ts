/**
 * The UDP side of the tracker benchmarks: the C load generator (bench/udp-load.c, compiled with
 * `cc -O2` for each run), its echo responder (the generator's ceiling on this machine), and one
 * BEP 15 connect + announce from Node that must list peers before a tracker is timed.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { runProgram, freePort, type Proc } from '../harness/procs.ts';
import { HERE, run as runToEnd } from './support.ts';
import { missingProgram } from './anchors.ts';
import { PORT_BASE } from './tracker-load.ts';

export interface UdpLoadOptions {
  seconds: number;
  /** Requests in flight, all sockets together. */
  window?: number;
  /** Client sockets (source ports), each with its own connection id. */
  sockets?: number;
  /** Datagrams per sendmmsg / recvmmsg. */
  batch?: number;
}

export const UDP_LOAD_DEFAULTS = { window: 64, sockets: 16, batch: 32 } as const;

export interface UdpLoadResult {
  announcesPerSecond: number;
  announces: number;
  connects: number;
  /** Error answers (action 3): none expected from a tracker that knows every torrent. */
  errors: number;
  /** Answers that matched no request in flight or had the wrong action or size: none expected. */
  bad: number;
  /** Requests unanswered within the generator's timeout (1 s). */
  lost: number;
  sent: number;
  /** Answers whose seeders + leechers were fewer than the swarm's pre-populated peers. */
  thin: number;
  peersPerAnswer: number;
  bytesPerAnswer: number;
  p50Ms: number;
  p99Ms: number;
  /** The generator's own CPU over the run, in cores (CPU seconds per second). */
  generatorCores: number;
}

/** Compile bench/udp-load.c into `dir`; resolves with the binary, or a skip reason. */
export async function buildUdpLoad(dir: string): Promise<{ bin?: string; skipped?: string }> {
  const noCc = missingProgram('cc', 'gcc');
  if (noCc) return { skipped: noCc };
  const bin = path.join(dir, 'udp-load');
  await runToEnd(['cc', '-O2', '-Wall', '-o', bin, path.join(HERE, 'udp-load.c')], { timeoutMs: 60_000 });
  return { bin };
}

/** The generator against 127.0.0.1:port for `seconds`, with the HTTP scenario's swarm mix. */
export async function runUdpLoad(bin: string, port: number, hashFile: string, peers: number, opts: UdpLoadOptions): Promise<UdpLoadResult> {
  const o = { ...UDP_LOAD_DEFAULTS, ...opts };
  const argv = [bin, 'load', '127.0.0.1', String(port), String(o.seconds), hashFile, String(peers), String(PORT_BASE)];
  argv.push('-w', String(o.window), '-s', String(o.sockets), '-b', String(o.batch), '-n', '50');
  const { stdout } = await runToEnd(argv, { timeoutMs: (o.seconds + 30) * 1000 });
  const m = /UDP_JSON (\{.*\})/.exec(stdout);
  if (!m) throw new Error(`udp-load printed no UDP_JSON line:\n${stdout}`);
  const j = JSON.parse(m[1]!) as Record<string, number>;
  const announces = j['announces']!;
  return {
    announcesPerSecond: announces / (j['duration_us']! / 1e6),
    announces,
    connects: j['connects']!,
    errors: j['errors']!,
    bad: j['bad']!,
    lost: j['lost']!,
    sent: j['sent']!,
    thin: j['thin']!,
    peersPerAnswer: announces ? j['peers']! / announces : 0,
    bytesPerAnswer: announces ? j['bytes']! / announces : 0,
    p50Ms: j['p50_us']! / 1000,
    p99Ms: j['p99_us']! / 1000,
    generatorCores: j['cpu_us']! / j['duration_us']!,
  };
}

/** A run must be clean: answers to most of what was sent, every one well formed and full. */
export function checkUdpLoad(who: string, r: UdpLoadResult, minPeers: number): void {
  if (r.announces === 0) throw new Error(`${who}: no announce answered (${r.connects} connects, ${r.errors} errors, ${r.lost} lost)`);
  if (r.bad > 0) throw new Error(`${who}: ${r.bad} answers matched no request or had the wrong action or size`);
  if (r.errors > r.announces * 0.001) throw new Error(`${who}: ${r.errors} error answers for ${r.announces} announces`);
  if (r.lost > r.sent * 0.01) throw new Error(`${who}: ${r.lost} of ${r.sent} requests unanswered within 1 s`);
  if (r.thin > r.announces * 0.001 || r.peersPerAnswer < minPeers) {
    throw new Error(`${who}: answers list ${r.peersPerAnswer.toFixed(1)} peers on average (want >= ${minPeers}); ${r.thin} counted fewer peers than the swarm holds`);
  }
}

/** The echo responder (fixed answers, no work) on a free port: the generator's ceiling here. */
export async function startUdpEcho(bin: string, dir: string): Promise<{ port: number; proc: Proc }> {
  const port = await freePort();
  const proc = runProgram('udp-echo', [bin, 'echo', '127.0.0.1', String(port)], { cwd: dir });
  await proc.waitFor(/udp-load echo on/, 10_000);
  return { port, proc };
}

/**
 * A Node UDP floor (bench/udp-floor-server.mjs: fixed answers, no work) on a free port: what no
 * Node UDP tracker can beat under this load on this machine, through node:dgram (`dgram`) or
 * through the tracker's native batch addon (`batch`).
 */
export async function startUdpFloor(dir: string, mode: 'dgram' | 'batch' = 'dgram'): Promise<{ port: number; proc: Proc }> {
  const port = await freePort();
  const proc = runProgram(`udp-floor-${mode}`, [process.execPath, path.join(HERE, 'udp-floor-server.mjs'), String(port), mode], { cwd: dir });
  await proc.waitFor(/udp floor server on/, 10_000);
  return { port, proc };
}

function exchange(sock: dgram.Socket, port: number, packet: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tid = packet.readUInt32BE(12);
    const timer = setTimeout(() => done(new Error(`no answer from udp://127.0.0.1:${port} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (msg: Buffer) => {
      if (msg.length >= 8 && msg.readUInt32BE(4) === tid) done(undefined, msg);
    };
    const done = (err?: Error, msg?: Buffer) => {
      clearTimeout(timer);
      sock.off('message', onMessage);
      if (err) reject(err);
      else resolve(msg!);
    };
    sock.on('message', onMessage);
    sock.send(packet, port, '127.0.0.1');
  });
}

export interface UdpSample {
  peers: number;
  seeders: number;
  leechers: number;
  bytes: number;
}

const errorText = (msg: Buffer) => (msg.readUInt32BE(0) === 3 ? `: error ${JSON.stringify(msg.subarray(8).toString('latin1'))}` : '');

/**
 * BEP 15 from Node: connect, then announce peer slot `slot` of `hash` (fresh peer_id, numwant 50,
 * no event) with the id received. Throws when either answer is missing, an error, or malformed.
 */
export async function udpSampleAnnounce(port: number, hash: Buffer, slot: number, peers: number, timeoutMs = 2000): Promise<UdpSample> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  try {
    const connect = Buffer.alloc(16);
    connect.writeBigUInt64BE(0x41727101980n, 0);
    connect.writeUInt32BE(0, 8);
    connect.writeUInt32BE(randomBytes(4).readUInt32BE(0), 12);
    const c = await exchange(sock, port, connect, timeoutMs);
    if (c.length < 16 || c.readUInt32BE(0) !== 0) throw new Error(`connect answered with ${c.length} bytes, action ${c.readUInt32BE(0)}${errorText(c)}`);
    const a = Buffer.alloc(98);
    c.copy(a, 0, 8, 16);
    a.writeUInt32BE(1, 8);
    a.writeUInt32BE(randomBytes(4).readUInt32BE(0), 12);
    hash.copy(a, 16);
    Buffer.concat([Buffer.from('-US0001-'), randomBytes(12)]).copy(a, 36);
    a.writeBigUInt64BE(slot < peers / 4 ? 0n : 734003200n, 64);
    a.writeUInt32BE(randomBytes(4).readUInt32BE(0), 88);
    a.writeUInt32BE(50, 92);
    a.writeUInt16BE(PORT_BASE + slot, 96);
    const r = await exchange(sock, port, a, timeoutMs);
    if (r.length < 20 || r.readUInt32BE(0) !== 1 || (r.length - 20) % 6 !== 0) {
      throw new Error(`announce answered with ${r.length} bytes, action ${r.readUInt32BE(0)}${errorText(r)}`);
    }
    return { peers: (r.length - 20) / 6, leechers: r.readUInt32BE(12), seeders: r.readUInt32BE(16), bytes: r.length };
  } finally {
    sock.close();
  }
}

/** Resolves once a BEP 15 connect to 127.0.0.1:port is answered (the tracker's UDP side is up). */
export async function waitUdpConnect(port: number, proc: Proc, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`tracker exited (${proc.child.exitCode}):\n${proc.out()}${proc.err()}`);
    const sock = dgram.createSocket('udp4');
    try {
      await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
      const connect = Buffer.alloc(16);
      connect.writeBigUInt64BE(0x41727101980n, 0);
      connect.writeUInt32BE(0x7e57, 12);
      const c = await exchange(sock, port, connect, 500);
      if (c.length >= 16 && c.readUInt32BE(0) === 0) return;
      last = `answered ${c.length} bytes, action ${c.readUInt32BE(0)}`;
    } catch (e) {
      last = (e as Error).message;
    } finally {
      sock.close();
    }
  }
  throw new Error(`no BEP 15 connect answer on udp://127.0.0.1:${port}: ${last}`);
}
