#!/usr/bin/env node
/** `npm run tracker`: the BitTorrent tracker, HTTP (BEP 3/23/48) and UDP (BEP 15), on 127.0.0.1:5001. */
import cluster from 'node:cluster';
import { die } from './cli/common.ts';
import { trackerOptions } from './tracker/options.ts';
import { runTracker } from './tracker/run.ts';
import { urlHost } from './bittorrent/address.ts';
import { reachableAddresses } from './net/reachable-addresses.ts';
import { TrackerPrimary } from './tracker/cluster/primary.ts';
import { handleSignals, runWorker } from './tracker/cluster/worker.ts';
import { startMetricsServer } from './tracker/metrics/http.ts';
import { metricsSourceFor } from './tracker/metrics/source.ts';

const options = trackerOptions();
const { host, port } = options;
const say = options.verbosity === 'quiet' ? () => {} : (line: string) => console.log(line);
// A wildcard bind is reached at the machine's addresses: those are printed (reachable-addresses.ts).
const runningLine = reachableAddresses(host)
  .map((a) => `* Running on http://${urlHost(a)}:${port}` + (options.udpPort === null ? '' : `\n* UDP tracker on udp://${urlHost(a)}:${options.udpPort}/announce`))
  .join('\n');

if (cluster.isWorker) {
  await runWorker(options);
} else if (options.workers > 1) {
  // The primary serves no request: it forks, watches and adds up (tracker/cluster/primary.ts).
  const primary = new TrackerPrimary(options, {
    ready: () => say(runningLine),
    failed: (message) => die(message),
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void primary.stop(signal).then(() => process.exit(0)));
  process.on('SIGHUP', () => primary.reloadLists());
  primary.start();
} else {
  let running;
  try {
    running = await runTracker(options);
    if (options.metrics !== null) {
      const metrics = await startMetricsServer(metricsSourceFor(running.service), options.metrics.host, options.metrics.port);
      const stopTracker = running.stop;
      running.stop = () => metrics.stop().then(stopTracker);
    }
  } catch (e) {
    await running?.stop();
    die((e as Error).message);
  }
  handleSignals(running);
  // Printed after the handlers, so a SIGTERM sent on seeing this line exits cleanly.
  say(runningLine);
}
