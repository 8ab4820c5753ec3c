/**
 * Peer exchange end to end (BEP 11, issue #17), real processes on loopback, PEX every second
 * (P2P_PEX_INTERVAL_MS=1000): a rate-capped seeder A and two requesters B and C find each other
 * through our tracker, which is then killed. A fourth requester D, whose torrent names only that
 * dead tracker, is given B alone (`--peer`) and reaches all three: A and C it can only have
 * learned of through PEX. Once over the wire protocol (who is connected to whom read from the
 * kernel: `ss`, established TCP sockets and their processes), once with the default protocol
 * (peers of ours trade over their HTTP API; D's log names the sources it used).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { missingProgram, runCli, skipOrFail, startTracker } from '../support/procs.ts';
import { Scope, exitWithin, startRequester, startSeeder, until, type Requester, type Seeder } from '../support/bad-peers.ts';
import { PEX_INTERVAL_ENV } from '../../src/peer/pex-hub.ts';

process.env[PEX_INTERVAL_ENV] = '1000'; // inherited by every program spawned below

/** pid -> the pids at the other end of its established TCP connections on loopback (from `ss -tnp`). */
function tcpNeighbours(): Map<number, Set<number>> {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8' });
  const owner = new Map<string, number>(); // local address:port -> pid
  const links: Array<{ pid: number; remote: string }> = [];
  for (const line of out.split('\n')) {
    const m = /^\s*\d+\s+\d+\s+(\S+)\s+(\S+)\s+.*pid=(\d+)/.exec(line);
    if (!m) continue;
    owner.set(m[1]!, Number(m[3]));
    links.push({ pid: Number(m[3]), remote: m[2]! });
  }
  const n = new Map<number, Set<number>>();
  for (const { pid, remote } of links) {
    const other = owner.get(remote);
    if (other === undefined) continue;
    if (!n.has(pid)) n.set(pid, new Set());
    n.get(pid)!.add(other);
  }
  return n;
}

const WIRE = ['--protocol', 'wire', '--transport', 'tcp', '--wait', '60'];
/** The default protocol: peers of ours trade over their HTTP API, the wire connection kept for PEX. */
const AUTO = ['--transport', 'tcp', '--wait', '60'];

interface Swarm {
  a: Seeder;
  b: Requester;
  c: Requester;
  d: Requester;
}

/**
 * A (seeder, 256 KiB/s), B and C (requesters) on our tracker, which is then killed; D, given
 * only B, is started and has been told of peers by B. Every peer runs with `flags`.
 */
async function swarmWithDeadTracker(scope: Scope, flags: string[]): Promise<Swarm> {
  const dir = await scope.dir('p2p-pex-');
  await writeFile(path.join(dir, 'pex.bin'), randomBytes(8 * 1024 * 1024));
  const { proc: tracker, announce } = await startTracker(dir, ['--interval', '2']);
  scope.adopt(tracker);
  // No web seed: D's only way to the seeder is through its peer port. The cap keeps everyone
  // downloading during the test (two seeds would drop their connection).
  const a = await startSeeder(scope, dir, 'pex.bin', announce, ['--piece-length', '256K', '--max-upload-rate', '256K', '--no-web-seed']);
  const b = await startRequester(scope, dir, a.torrent, ['--out', 'b', ...flags]);
  await b.proc.waitFor(new RegExp(`from (?:Seeder|peer) 127\\.0\\.0\\.1:${a.port}\\b`), 20_000);
  const c = await startRequester(scope, dir, a.torrent, ['--out', 'c', ...flags]);
  await c.proc.waitFor(new RegExp(`from (?:Seeder|peer) 127\\.0\\.0\\.1:${b.port}\\b`), 20_000); // the tracker listed B to C
  tracker.kill('SIGKILL');
  await tracker.exited;
  const d = await startRequester(scope, dir, a.torrent, ['--out', 'd', '--peer', `127.0.0.1:${b.port}`, ...flags]);
  await d.proc.waitFor(new RegExp(`^Peer exchange: 127\\.0\\.0\\.1:${b.port} told us of [1-9]\\d* peer`, 'm'), 20_000);
  return { a, b, c, d };
}

function logSwarm(t: { diagnostic(s: string): void }, { a, b, c, d }: Swarm): void {
  t.diagnostic(`ports: A ${a.port}, B ${b.port}, C ${c.port}, D ${d.port}`);
  t.diagnostic(`D's log: ${d.proc.out().replace(/\r/g, '\n').split('\n').filter((l) => l && !l.startsWith('Progress')).join(' | ')}`);
}

test('PEX over the wire protocol: with the tracker dead, a peer that knows only B reaches the seeder and the other requester', { timeout: 90_000 }, async (t) => {
  const missing = missingProgram('ss', 'iproute2');
  if (missing) return skipOrFail(t, missing);
  const scope = new Scope();
  try {
    const swarm = await swarmWithDeadTracker(scope, WIRE);
    const { a, b, c, d } = swarm;
    const pid = (r: { proc: { child: { pid?: number } } }) => r.proc.child.pid!;
    const want = new Map([
      ['the seeder A', pid(a)],
      ['requester B', pid(b)],
      ['requester C', pid(c)],
    ]);
    let seen = new Set<number>();
    await until(
      () => {
        seen = tcpNeighbours().get(pid(d)) ?? new Set();
        return [...want.values()].every((p) => seen.has(p));
      },
      20_000,
      'D connected to A, B and C',
      250,
    ).catch((e: Error) => {
      const missed = [...want].filter(([, p]) => !seen.has(p)).map(([name]) => name);
      throw new Error(`${e.message}: not connected to ${missed.join(', ')}\nD's output:\n${d.proc.out()}${d.proc.err()}`);
    });
    // The seeder dials nobody without a tracker: D dialled it, at the port B's PEX told it.
    await d.proc.waitFor(new RegExp(`^Downloading pex\\.bin from (?:Seeder|peer) 127\\.0\\.0\\.1:${a.port} \\(BitTorrent protocol\\)$`, 'm'), 5000);
    logSwarm(t, swarm);
    assert.match(d.proc.out(), /Tracker unreachable/, 'the tracker was dead for D');
  } finally {
    await scope.dispose();
  }
});

test('PEX between peers of ours (default protocol: HTTP API, wire kept for PEX): D uses A and C, told of them by B', { timeout: 90_000 }, async (t) => {
  const scope = new Scope();
  try {
    const swarm = await swarmWithDeadTracker(scope, AUTO);
    const { a, c, d } = swarm;
    // Our peers trade over their HTTP API; their listen ports came to D by PEX alone.
    for (const [name, port] of [['A', a.port], ['C', c.port]] as const) {
      await d.proc
        .waitFor(new RegExp(`^Downloading pex\\.bin from (?:Seeder|peer) 127\\.0\\.0\\.1:${port}$`, 'm'), 20_000)
        .catch((e: Error) => assert.fail(`D never used ${name}: ${e.message}`));
    }
    logSwarm(t, swarm);
  } finally {
    await scope.dispose();
  }
});

test('--peer takes HOST:PORT with an IP address; anything else ends the requester with status 2 and one line', async () => {
  for (const bad of ['nowhere', 'example.org:6881', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '[::1:6881', '1.2.3.4.5:1']) {
    const p = runCli('requester', ['x.torrent', '--peer', bad], { cwd: process.cwd() });
    assert.equal(await exitWithin(p, 10_000, `requester --peer ${bad}`), 2, bad);
    assert.match(p.err(), /--peer must be HOST:PORT/, bad);
  }
});
