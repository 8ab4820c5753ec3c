/**
 * libtorrent 2.0 as the judge of our uTP: in a loopback-only network namespace, libtorrent
 * sessions with TCP disabled (test/peer/utp/libtorrent-utp.py) and a minimal BitTorrent peer on
 * our uTP (test/peer/utp/bt-peer-over-utp.ts) move a 1 MiB torrent both ways: we dial
 * libtorrent's seeder and download it, libtorrent dials us and downloads it from us.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createNetns, requireNetns } from '../../support/netns.ts';
import { ROOT } from '../../support/procs.ts';

const HERE = path.join(ROOT, 'test', 'peer', 'utp');
const [SEED_PORT, LEECH_PORT, NODE_PORT] = [7001, 7003, 7002];

/** Lines of a child's stdout as `TAG {json}` events; `next(tag)` waits for one (FAIL rejects). */
function events(child: ChildProcess, name: string) {
  const seen: { tag: string; body: Record<string, unknown> }[] = [];
  const waiters: (() => void)[] = [];
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    const m = /^([A-Z_]+) (\{.*\})$/.exec(line);
    if (m) seen.push({ tag: m[1]!, body: JSON.parse(m[2]!) as Record<string, unknown> });
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
  return {
    lines,
    next(tag: string, ms: number): Promise<Record<string, unknown>> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no ${tag} within ${ms} ms:\n${lines.join('\n')}`)), ms);
        const look = () => {
          const fail = seen.find((e) => e.tag === 'FAIL');
          const hit = seen.find((e) => e.tag === tag);
          if (fail || hit) clearTimeout(timer);
          if (fail) return reject(new Error(`${name} failed: ${JSON.stringify(fail.body)}\n${lines.join('\n')}`));
          if (hit) return resolve(hit.body);
          waiters.push(look);
        };
        look();
      });
    },
  };
}

test('libtorrent (uTP only) and our uTP move a torrent both ways: we download from it, it downloads from us', { timeout: 90_000 }, async (t) => {
  if (!requireNetns(t)) return;
  if (spawnSync('/usr/bin/python3', ['-c', 'import libtorrent']).status !== 0) {
    if (process.env['CI'] === 'true') throw new Error('python3-libtorrent is missing (required under CI=true)');
    return t.skip('python3-libtorrent is missing: apt-get install -y python3-libtorrent');
  }
  const ns = createNetns();
  const work = mkdtempSync(path.join(tmpdir(), 'utp-lt-'));
  const children: ChildProcess[] = [];
  try {
    const [cmd, ...args] = ns.wrap(['/usr/bin/python3', path.join(HERE, 'libtorrent-utp.py'), work, `${SEED_PORT}`, `${LEECH_PORT}`, `${NODE_PORT}`]);
    const py = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(py);
    const lt = events(py, 'libtorrent');
    const ready = await lt.next('READY', 30_000);

    const [ncmd, ...nargs] = ns.wrap([process.execPath, '--import', 'tsx', path.join(HERE, 'bt-peer-over-utp.ts'), `${NODE_PORT}`, `${SEED_PORT}`, String(ready['info_hash']), String(ready['piece_length']), String(ready['data'])]);
    const node = spawn(ncmd!, nargs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(node);
    const ours = events(node, 'our peer');
    await ours.next('LISTENING', 20_000);
    py.stdin!.write('GO\n');

    // We dialled libtorrent's seeder over uTP and got the whole torrent, byte-exact.
    const dialled = await ours.next('DIAL_DONE', 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\nlibtorrent said:\n${lt.lines.join('\n')}`);
    });
    assert.deepEqual(dialled, { bytes: 1 << 20, exact: true });
    // libtorrent dialled us over uTP (TCP is off) and completed (it checks every piece's SHA-1).
    const leech = await lt.next('LEECH_DONE', 40_000);
    assert.equal(leech['progress'], 1);
    const fromUs = (leech['peers'] as { ip: [string, number]; utp: boolean }[]).filter((p) => p.ip[1] === NODE_PORT);
    assert.ok(fromUs.length > 0 && fromUs.every((p) => p.utp), `libtorrent's peer list: ${JSON.stringify(leech['peers'])}`);
    const seeded = (await lt.next('SEED_PEERS', 40_000))['peers'] as { utp: boolean; up: number }[];
    assert.ok(seeded.some((p) => p.utp && p.up >= 1 << 20), `the seeder served us over uTP: ${JSON.stringify(seeded)}`);
    t.diagnostic(`libtorrent downloaded 1 MiB from us in ${String(leech['seconds'])} s`);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    ns.remove();
    rmSync(work, { recursive: true, force: true });
  }
});
