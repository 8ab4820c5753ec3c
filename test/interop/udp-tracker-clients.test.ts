/**
 * Real clients announce over UDP (BEP 15) to our tracker, inside a network namespace that has
 * only loopback: a torrent whose only tracker is `udp://127.0.0.1:P/announce` (BEP 41 URL data
 * `/announce` included), transmission-cli seeding it and aria2c downloading it. The tracker's
 * /peers lists both (so both announced over UDP: there is no other tracker), and aria2c's finished
 * download shows it got transmission's address from the tracker (DHT has no reachable node, LPD
 * and PEX are off; Transmission never dials loopback peers it learns from a tracker, aria2c does).
 *
 * aria2c speaks UDP trackers only with its DHT on (they share its UDP socket): DHT is enabled
 * with an entry point where nothing listens.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, requireProgram, type Proc, within, until } from '../support/procs.ts';
import { requireNetns } from '../support/netns.ts';
import { withNetnsWorld } from '../support/netns-world.ts';
import { aria2Argv, transmissionConfig } from '../support/real-clients.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';

const MiB = 1024 * 1024;

function needs(t: TestContext, ...programs: Array<[string, string]>): boolean {
  if (!requireNetns(t)) return false;
  for (const [program, pkg] of programs) if (!requireProgram(t, program, pkg)) return false;
  return true;
}

async function sameBytes(file: string, data: Buffer): Promise<boolean> {
  try {
    return (await readFile(file)).equals(data);
  } catch {
    return false;
  }
}

function transcript(...ps: Array<[string, Proc]>): string {
  const tail = (s: string) => s.replace(/\r/g, '\n').replace(/\n{2,}/g, '\n').slice(-3000);
  return ps.map(([n, p]) => `--- ${n} stdout:\n${tail(p.out())}\n--- ${n} stderr:\n${tail(p.err())}`).join('\n');
}

/** aria2c with its DHT on (its UDP tracker needs it) but nowhere to go; LPD and PEX off. */
/** aria2c with DHT on (its UDP tracker support needs it) and nowhere reachable to find the DHT. */
async function aria2(dir: string, args: string[]): Promise<string[]> {
  return aria2Argv(args, { listenPort: await freePort(), entryPort: await freePort(), file: path.join(dir, 'dht.dat') });
}

interface PeerRow {
  port: number;
  seeder: boolean;
}

test('aria2c and transmission-cli announce over UDP to our tracker and get each other', { timeout: 90_000 }, async (t) => {
  if (!needs(t, ['aria2c', 'aria2'], ['transmission-cli', 'transmission-cli'], ['mktorrent', 'mktorrent'])) return;
  await withNetnsWorld('p2p-udp-clients-', async (w) => {
    const tracker = await w.tracker();
    const udpAnnounce = `udp://127.0.0.1:${tracker.port}/announce`;
    const tdir = path.join(w.dir, 'transmission');
    await mkdir(path.join(tdir, 'data'), { recursive: true });
    const data = randomBytes(3 * MiB + 77);
    await writeFile(path.join(tdir, 'data', 'udp.bin'), data);
    execFileSync('mktorrent', ['-l', '18', '-a', udpAnnounce, '-o', path.join(w.dir, 'udp.torrent'), 'udp.bin'], { cwd: path.join(tdir, 'data') });
    const meta = parseMetainfo(await readFile(path.join(w.dir, 'udp.torrent')));
    assert.equal(meta.announce, udpAnnounce);
    assert.deepEqual(meta.announceList, [], 'the UDP tracker is the only tracker');
    assert.deepEqual(meta.urlList, [], 'no web seed');

    const trPort = await freePort();
    const cfg = await transmissionConfig(tdir);
    const tr = w.program('transmission-cli', ['transmission-cli', '-g', cfg, '-M', '-p', String(trPort), '-w', path.join(tdir, 'data'), path.join(w.dir, 'udp.torrent')], tdir);
    const peers = async () => {
      const r = await w.get(`http://127.0.0.1:${tracker.port}/peers?info_hash=${meta.infoHashHex}`);
      return (JSON.parse(r.body.toString()) as { peers: PeerRow[] }).peers;
    };
    await until(async () => (await peers()).some((p) => p.port === trPort && p.seeder), 30_000, () => `transmission announced as a seeder over UDP\n${transcript(['transmission-cli', tr])}`);

    const adir = path.join(w.dir, 'aria');
    await mkdir(adir);
    const ariaPort = await freePort();
    const aria = w.program('aria2c', await aria2(adir, ['--seed-time=0', `--listen-port=${ariaPort}`, '-d', 'dl', path.join(w.dir, 'udp.torrent')]), adir);
    await until(async () => (await peers()).some((p) => p.port === ariaPort), 30_000, () => `aria2c announced over UDP\n${transcript(['aria2c', aria])}`);
    const code = await within(aria.exited, 60_000, 'aria2c to finish');
    assert.equal(code, 0, transcript(['aria2c', aria], ['transmission-cli', tr]));
    assert.ok(await sameBytes(path.join(adir, 'dl', 'udp.bin'), data), 'aria2c has the exact file, from the peer the UDP tracker gave it');
  });
});
