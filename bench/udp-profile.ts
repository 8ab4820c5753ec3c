/**
 * Where our UDP tracker's time goes under bench/udp-load.c (a development tool, not a scenario of
 * `npm run bench`): the tracker under `node --cpu-prof`, pre-populated as in tracker-udp.ts, one
 * timed load run, then the profile's summary (bench/profile-summary.ts) for that run only.
 *
 *   npm run build && npx tsx bench/udp-profile.ts [seconds=10] [batch|dgram]
 */
import path from 'node:path';
import { tempDir } from '../harness/procs.ts';
import { stop } from './support.ts';
import { summariseFile } from './profile-summary.ts';
import { benchInfoHashes, writeHashFile } from './tracker-load.ts';
import { buildUdpLoad, runUdpLoad } from './udp-load.ts';
import { startOursUdp, populateOver, verifyUdp, UDP_TORRENTS, UDP_PEERS } from './udp-trackers.ts';

const [secondsArg = '10', io = 'batch'] = process.argv.slice(2);
const tmp = await tempDir('p2p-udp-profile-');
try {
  const built = await buildUdpLoad(tmp.dir);
  if (!built.bin) throw new Error(built.skipped);
  const hashes = benchInfoHashes(UDP_TORRENTS);
  const hashFile = path.join(tmp.dir, 'whitelist.txt');
  await writeHashFile(hashFile, hashes);
  const file = path.join(tmp.dir, 'udp.cpuprofile');
  const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${tmp.dir}`, '--cpu-prof-name=udp.cpuprofile'];
  const t = await startOursUdp(tmp.dir, [], { nodeArgs, env: { P2P_UDP_BATCH: io === 'dgram' ? '0' : '1' } });
  await populateOver(t, hashes);
  await verifyUdp(t, hashes);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const w = await runUdpLoad(built.bin, t.port, hashFile, UDP_PEERS, { seconds: Number(secondsArg) });
  const toUs = Number(process.hrtime.bigint() / 1000n);
  await stop(t.proc, 15_000);
  console.log(`${io}: ${w.announcesPerSecond.toFixed(0)} announces/s while profiled\n`);
  console.log(summariseFile(file, { window: { fromUs, toUs } }));
} finally {
  await tmp.remove();
}
