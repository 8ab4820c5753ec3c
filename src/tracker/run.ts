/**
 * One tracker process: its store, its service and the front ends over it (HTTP, UDP), the
 * torrent lists, and a clean stop. `--workers` runs this in each worker (cluster.ts).
 */
import { listenErrorMessage } from '../net/listen-error.ts';
import { TrackerService } from './service.ts';
import { TrackerStats } from './metrics/stats.ts';
import { TorrentLists } from './torrent-list.ts';
import { openStore } from './store/open-store.ts';
import { startExpiry } from './store/expiry.ts';
import { createHttpFrontEnd, expiryPeriodMs } from './http/server.ts';
import { createUdpFrontEnd } from './udp/server.ts';
import { listen } from '../net/server-timeouts.ts';
import type { TrackerOptions } from './options.ts';

export interface RunningTracker {
  service: TrackerService;
  lists: TorrentLists;
  stop(): Promise<void>;
}

/** Start every part, or reject with a one-line reason (a port taken, a list unreadable, no store). */
export async function runTracker(o: TrackerOptions): Promise<RunningTracker> {
  const lists = new TorrentLists(o.whitelist, o.blacklist);
  await lists.load();
  const stats = new TrackerStats();
  const store = await openStore(o.store, 2 * o.config.interval * 1000, o.storeLimits, stats);
  const service = new TrackerService(store, o.config, { stats, torrents: lists.active ? lists : undefined, log: o.verbosity === 'verbose' ? (line) => console.log(line) : undefined });
  const expiry = startExpiry(store, expiryPeriodMs(o.config));
  const http = createHttpFrontEnd(service, o.connections, lists);
  const stops: Array<() => Promise<void>> = [
    async () => expiry.stop(),
    () => http.stop(),
    async () => store.close?.(),
  ];
  const stop = async () => {
    for (const s of stops) await s().catch(() => {});
  };
  try {
    await listen(http.server, o.port, o.host).catch((e: NodeJS.ErrnoException) => {
      throw new Error(listenErrorMessage(e, o.host, o.port));
    });
    if (o.udpPort !== null) {
      const udp = createUdpFrontEnd(service, { secret: o.secret });
      stops.splice(stops.length - 1, 0, () => udp.stop()); // before the store closes
      await udp.bind(o.udpPort, o.host).catch((e: NodeJS.ErrnoException) => {
        throw new Error(listenErrorMessage(e, o.host, o.udpPort as number, '--udp-port (or --no-udp)', 'UDP port'));
      });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { service, lists, stop };
}
