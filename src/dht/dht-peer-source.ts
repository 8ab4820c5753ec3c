/**
 * The DHT as a source of peers for a magnet link's metadata phase (download/metadata-sources.ts):
 * one torrent gets a DHT node of its own on the peer's UDP port, for the phase only (closed before
 * the download's peer node binds that port; its DHT reloads the routing table saved); several
 * torrents on one PeerHost use the host's node (hostDhtPeers).
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
  let lookup: PeerSource | undefined;
  let starting: Promise<void> | undefined;
  let stopped = false;
  return {
    start(found) {
      starting = PeerDht.start(o.settings, o.host, o.port).then(
        (d) => {
          dht = d;
          if (stopped) return;
          lookup = hostDhtPeers(d, o.infoHash);
          lookup.start(found);
        },
        (e: Error) => o.log(`DHT not started (${e.message}); going on without it`),
      );
    },
    refresh: () => lookup?.refresh?.(),
    // The port must be free again before the download binds it: wait for a start under way too.
    async stop() {
      stopped = true;
      await starting;
      await lookup?.stop();
      await dht?.close();
    },
  };
}

/**
 * A DHT node that is already running (a PeerHost's, with several torrents on one port) as the
 * source: get_peers for `infoHash`, the peers found handed over.
 */
export function hostDhtPeers(dht: PeerDht, infoHash: Buffer): PeerSource {
  let off: (() => void) | undefined;
  return {
    start(found) {
      off = dht.onPeers(infoHash, (ip, port) => found([{ ip, port }]));
      dht.lookup(infoHash);
    },
    refresh: () => dht.lookup(infoHash),
    stop: async () => off?.(),
  };
}
