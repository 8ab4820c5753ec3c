/**
 * Our requester over `udp://` against our own tracker's BEP 15 front end, in the swarm of
 * test/tracker-client/udp-swarm.ts (find the seeder, seed and be found, leave: all over UDP).
 */
import { test } from 'node:test';
import { startTracker } from '../support/procs.ts';
import { requireNetns } from '../support/netns.ts';
import { withNetnsWorld } from '../support/netns-world.ts';
import { randomData, scrapeSeeders, udpOnlySwarm } from '../tracker-client/udp-swarm.ts';

test('our own tracker over UDP only: our requesters find peers, download, seed and leave through udp://', { timeout: 120_000 }, async (t) => {
  if (!requireNetns(t)) return;
  await withNetnsWorld('p2p-udp-ours-', async (w) => {
    const data = await randomData(w);
    // UDP on by default, on the HTTP port number.
    const tracker = await startTracker(w.dir, ['--interval', '2'], w.ns.name);
    w.adopt(tracker.proc);
    const seeders = (hash: string) => scrapeSeeders(w, tracker.port, hash);
    await udpOnlySwarm(w, { httpAnnounce: tracker.announce, udpAnnounce: `udp://127.0.0.1:${tracker.port}/announce`, seeders, proc: tracker.proc }, data);
  });
});
