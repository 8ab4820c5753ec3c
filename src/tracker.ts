/** `npm run tracker`: the BitTorrent tracker, HTTP (BEP 3/23/48) and UDP (BEP 15), on 127.0.0.1:5001. */
import { die } from './cli/common.ts';
import { trackerOptions } from './tracker/options.ts';
import { runTracker } from './tracker/run.ts';
import { urlHost } from './bittorrent/address.ts';

const options = trackerOptions();
const { host, port } = options;
let tracker;
try {
  tracker = await runTracker(options);
} catch (e) {
  die((e as Error).message);
}
const running = tracker;
const shutdown = () => void running.stop().then(() => process.exit(0));
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
process.on('SIGHUP', () => {
  running.lists.load().then(
    (n) => console.log(`* Torrent lists re-read: ${n.whitelisted ?? 'no'} whitelisted, ${n.blacklisted ?? 'no'} blacklisted`),
    (e: Error) => console.error(`Error: torrent lists not re-read, the old ones stay: ${e.message}`),
  );
});
// Printed after the handlers, so a SIGTERM sent on seeing this line exits cleanly.
console.log(`* Running on http://${urlHost(host)}:${port}`);
