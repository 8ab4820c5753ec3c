/**
 * Our requester over `udp://` (BEP 15) against opentracker's UDP side, in the swarm of
 * test/tracker-client/udp-swarm.ts (find the seeder, seed and be found, leave: all over UDP).
 */
import { test } from 'node:test';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, requireProgram, type Proc, until } from '../support/procs.ts';
import { requireNetns } from '../support/netns.ts';
import { NetnsWorld, withNetnsWorld } from '../support/netns-world.ts';
import { parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { makeTorrent } from '../../src/metainfo/create.ts';
import { randomData, scrapeSeeders, transcript, udpOnlySwarm } from '../tracker-client/udp-swarm.ts';

/** Debian's opentracker (whitelist-only) on `port`, TCP and UDP, tracking `hash` only. */
async function startOpentracker(w: NetnsWorld, port: number, hash: string): Promise<Proc> {
  await writeFile(path.join(w.dir, 'whitelist.txt'), `${hash}\n`);
  // It reads the whitelist as `nobody` from folder /: an absolute path in a folder others may read.
  await chmod(w.dir, 0o755);
  await writeFile(path.join(w.dir, 'opentracker.conf'), `listen.tcp_udp 127.0.0.1:${port}\naccess.whitelist ${path.join(w.dir, 'whitelist.txt')}\n`);
  const ot = w.program('opentracker', ['opentracker', '-f', path.join(w.dir, 'opentracker.conf')]);
  await until(async () => (await scrapeSeeders(w, port, hash)) !== null, 10_000, () => `opentracker listening\n${transcript(['opentracker', ot])}`);
  return ot;
}

test('opentracker over UDP only: our requesters find peers, download, seed and leave through udp://', { timeout: 120_000 }, async (t) => {
  if (!requireNetns(t) || !requireProgram(t, 'opentracker', 'opentracker')) return;
  await withNetnsWorld('p2p-udp-opentracker-', async (w) => {
    const data = await randomData(w);
    // Debian's opentracker is whitelist-only: it must know the info_hash before it starts.
    const hash = parseMetainfo(await makeTorrent(path.join(w.dir, 'u.bin'), 'u.bin', { announce: 'http://x/', pieceLength: 256 * 1024 })).infoHashHex;
    const port = await freePort();
    const proc = await startOpentracker(w, port, hash);
    const seeders = (h: string) => scrapeSeeders(w, port, h);
    await udpOnlySwarm(w, { httpAnnounce: `http://127.0.0.1:${port}/announce`, udpAnnounce: `udp://127.0.0.1:${port}/announce`, seeders, proc }, data);
  });
});
