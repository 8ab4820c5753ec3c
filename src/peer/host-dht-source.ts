/**
 * The DHT of a peer process that already listens (PeerHost) as a source of peers for a magnet
 * link's metadata phase: with several torrents on one port, the port's UDP socket is the host's,
 * so the phase cannot start a DHT node of its own there (as dht-peer-source.ts does for one).
 */
import type { PeerSource } from '../download/metadata-sources.ts';
import type { PeerDht } from '../dht/peer-dht.ts';

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
