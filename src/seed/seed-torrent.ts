/**
 * The seeder's serving: the whole data from its folder, registered with the tracker (and said
 * so), the peers it lists dialled, and a clean stop (`stopped` to the tracker) on SIGINT/SIGTERM.
 */
import type { Metainfo } from '../metainfo/metainfo.ts';
import { PieceStore } from '../storage/piece-store.ts';
import { storageFiles } from '../storage/layout.ts';
import { Bitfield } from '../bittorrent/bitfield.ts';
import { newPeerId } from '../bittorrent/peer-id.ts';
import type { PeerNodeOptions } from '../peer/peer-node.ts';
import { TrackerFailure } from '../tracker-client/reply.ts';
import { Seeding } from './seeding.ts';
import { SeedingStatus } from '../cli/seeding-status.ts';

export interface SeedTorrentOptions {
  /** The folder holding the data under the torrent's name. */
  dataRoot: string;
  host: string;
  port: number;
  announceUrl: string;
  maxUploadRate?: number;
  peerLimits?: PeerNodeOptions;
  /** BEP 16 super-seeding (see super-seed.ts). */
  superSeed?: boolean;
}

/** Serve `meta` until a signal; resolves once the first announce was tried (answered or not). */
export async function seedTorrent(meta: Metainfo, o: SeedTorrentOptions, log: (line: string) => void): Promise<void> {
  const store = await PieceStore.openForReading(storageFiles(meta, o.dataRoot));
  const { host, port, maxUploadRate, peerLimits, superSeed } = o;
  const have = Bitfield.full(meta.pieceCount);
  const seeding = await Seeding.listen({ meta, store, have, host, port, peerId: newPeerId(), maxUploadRate, peerLimits, superSeeding: superSeed });
  let registered = false;
  let firstAttempt!: () => void;
  const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
  const announcer = seeding.announce(o.announceUrl, () => ({ uploaded: seeding.uploaded, downloaded: 0, left: 0 }), {
    onReply: (reply) => {
      if (!registered) log('Successfully registered with tracker.');
      registered = true;
      firstAttempt();
      seeding.dialPeers(reply.peers);
    },
    onError: (e, retry) => {
      log(`${e instanceof TrackerFailure ? 'Tracker said no' : 'Tracker unreachable'} (${e.message}); still serving, retrying in ${retry} s`);
      firstAttempt();
    },
  });
  const status = new SeedingStatus(meta.name, meta.length, () => ({ uploaded: seeding.uploaded, peers: connectedPeers(seeding) }));
  // Handlers before any output that a script may react to with a SIGTERM.
  const shutdown = () => {
    status.stop();
    void seeding.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  announcer.start();
  await attempted;
  status.start();
}

function connectedPeers(seeding: Seeding): number {
  const c = seeding.node.connections;
  return c.http + c.wire;
}
