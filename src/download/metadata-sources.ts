/**
 * Where the metadata phase finds peers for an info hash: a list of sources, each handing over
 * batches of addresses. A magnet's `x.pe` peers and its `tr` trackers (HTTP and UDP) are two; a
 * DHT lookup can be another (it implements PeerSource and joins the list).
 */
import { Announcer } from '../tracker-client/announcer.ts';
import { TrackerFailure } from '../tracker-client/reply.ts';
import type { MagnetPeer } from '../magnet/magnet-uri.ts';

export interface PeerSource {
  /** Start looking; `found` may be called any number of times. */
  start(found: (peers: MagnetPeer[]) => void): void;
  /** Look again now (no peer gave the metadata yet). */
  refresh?(): void;
  /** Stop looking (and tell whoever needs telling); resolves when done. */
  stop(): Promise<void>;
}

/** Peers known up front (a magnet's `x.pe`). */
export function fixedPeers(peers: MagnetPeer[]): PeerSource {
  return { start: (found) => peers.length && found(peers), stop: async () => {} };
}

export interface TrackerSourceOptions {
  infoHash: Buffer;
  peerId: Buffer;
  /** The port we will serve on (announced). */
  port: number;
  log(line: string): void;
}

/**
 * `left` while we do not know the size: not 0, which would say "seed" (a tracker may then list
 * us only leechers); libtorrent sends a non-zero placeholder as well.
 */
const UNKNOWN_LEFT = 16 * 1024;

/** The BEP 12 tiers of trackers, announced to as a leecher; stop() announces `stopped` (bounded). */
export function trackerPeers(tiers: string[][], o: TrackerSourceOptions): PeerSource {
  let announcer: Announcer | undefined;
  return {
    start(found) {
      if (tiers.length === 0) return;
      announcer = new Announcer(tiers, { infoHash: o.infoHash, peerId: o.peerId, port: o.port, numwant: 50 }, () => ({ uploaded: 0, downloaded: 0, left: UNKNOWN_LEFT }), {
        onReply: (reply) => found(reply.peers.map((p) => ({ ip: p.ip, port: p.port }))),
        onError: (e, retry) => o.log(`${e instanceof TrackerFailure ? 'Tracker said no' : 'Tracker unreachable'} (${e.message}); retrying in ${retry} s`),
      });
      announcer.start();
    },
    refresh: () => announcer?.refresh(),
    // `stopped` before the download's session announces `started` again: never the other way round.
    stop: () => announcer?.stop() ?? Promise.resolve(),
  };
}
