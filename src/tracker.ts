/** `npm run tracker`: the BitTorrent HTTP tracker (BEP 3/23/48) on 127.0.0.1:5001. */
import { die } from './cli/common.ts';
import { trackerOptions } from './tracker/options.ts';
import { MemorySwarmStore } from './tracker/store/memory-store.ts';
import { createTrackerServer } from './tracker/http/server.ts';
import { listen } from './net/server-timeouts.ts';
import { urlHost } from './bittorrent/address.ts';

const { host, port, config, storeLimits, connections } = trackerOptions();
const tracker = createTrackerServer(new MemorySwarmStore(2 * config.interval * 1000, storeLimits), config, connections);
try {
  await listen(tracker.server, port, host);
} catch (e) {
  die(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
}
const shutdown = () => void tracker.stop().then(() => process.exit(0));
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
// Printed after the handlers, so a SIGTERM sent on seeing this line exits cleanly.
console.log(`* Running on http://${urlHost(host)}:${port}`);
