/**
 * The DHT as a source of peers for a magnet link's metadata phase (download/metadata-sources.ts):
 * a DHT node of its own on the peer's UDP port, for the phase only. It is closed before the
 * download's peer node binds that port; the download's DHT reloads the routing table it saved.
 */
import type { PeerSource } from '../download/metadata-sources.ts';
import { PeerDht, type DhtSettings } from './peer-dht.ts';

export interface DhtSourceOptions {
  settings: DhtSettings;
  host: string;
  port: number;
  infoHash: Buffer;
  log(line: string): void;
}

export function dhtPeers(o: DhtSourceOptions): PeerSource {
  let dht: PeerDht | undefined;
  let starting: Promise<void> | undefined;
  let stopped = false;
  return {
    start(found) {
      starting = PeerDht.start(o.settings, o.host, o.port).then(
        (d) => {
          dht = d;
          if (stopped) return;
          d.onPeers(o.infoHash, (ip, port) => found([{ ip, port }]));
          d.lookup(o.infoHash);
        },
        (e: Error) => o.log(`DHT not started (${e.message}); going on without it`),
      );
    },
    refresh: () => dht?.lookup(o.infoHash),
    // The port must be free again before the download binds it: wait for a start under way too.
    async stop() {
      stopped = true;
      await starting;
      await dht?.close();
    },
  };
}
