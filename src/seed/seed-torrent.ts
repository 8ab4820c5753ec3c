/**
 * The seeder's serving: the whole data of each torrent from its folder, all on one port (one
 * PeerHost), each registered with the tracker (and said so), the peers it lists dialled, and a
 * clean stop (`stopped` to the tracker) on SIGINT/SIGTERM.
 */
import type { Metainfo } from '../metainfo/metainfo.ts';
import { PieceStore } from '../storage/piece-store.ts';
import { storageFiles } from '../storage/layout.ts';
import { Bitfield } from '../bittorrent/bitfield.ts';
import { newPeerId } from '../bittorrent/peer-id.ts';
import type { PeerNodeOptions } from '../peer/peer-node.ts';
import { PeerHost } from '../peer/peer-host.ts';
import { TrackerFailure } from '../tracker-client/reply.ts';
import { Seeding } from './seeding.ts';
import { SeedingStatus, linesTo } from '../cli/seeding-status.ts';
import { holdStop } from '../cli/stop-signals.ts';
import { plainNetError } from '../cli/net-messages.ts';

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
  /** `--json` (lines go to `log`, which writes events) or `-q` (`log` writes nothing): no status redraws. */
  json?: boolean;
  quiet?: boolean;
}

/** One torrent to serve and the folder holding its data under the torrent's name. */
export interface ServedTorrent {
  meta: Metainfo;
  dataRoot: string;
}

/** Serve `meta` until a signal; resolves once the first announce was tried (answered or not). */
export function seedTorrent(meta: Metainfo, o: SeedTorrentOptions, log: (line: string) => void): Promise<void> {
  return seedTorrents([{ meta, dataRoot: o.dataRoot }], o, log);
}

/** Serve every torrent on one port until a signal; resolves once each one's first announce was tried. */
export async function seedTorrents(torrents: ServedTorrent[], o: Omit<SeedTorrentOptions, 'dataRoot'>, log: (line: string) => void): Promise<void> {
  const stores = await Promise.all(torrents.map((t) => PieceStore.openForReading(storageFiles(t.meta, t.dataRoot))));
  const { host, port, maxUploadRate, peerLimits, superSeed } = o;
  let peerHost: PeerHost;
  try {
    peerHost = await PeerHost.listen({ host, port, peerId: newPeerId(), maxUploadRate, peerLimits });
  } catch (e) {
    await Promise.all(stores.map((s) => s.close()));
    throw e;
  }
  const seedings: Seeding[] = [];
  for (const [i, { meta }] of torrents.entries()) {
    seedings.push(await Seeding.on(peerHost, { meta, store: stores[i]!, have: Bitfield.full(meta.pieceCount), superSeeding: superSeed }));
  }
  const name = torrents.length === 1 ? torrents[0]!.meta.name : `${torrents.length} torrents`;
  const size = torrents.reduce((n, t) => n + t.meta.length, 0);
  // Under --json the closing line goes through `log` like every other line (no status redraws).
  const out = o.json || o.quiet ? linesTo(log) : undefined;
  const status = new SeedingStatus(name, size, () => ({ uploaded: peerHost.node.counter.uploaded, peers: connectedPeers(peerHost) }), out);
  // Held before any output that a script may react to with a SIGTERM, and to the end (repeats do not cut the stop short).
  void holdStop().requested.then(() => {
    status.stop();
    void Promise.all(seedings.map((s) => s.close()))
      .then(() => peerHost.close())
      .then(() => process.exit(0));
  });
  await Promise.all(seedings.map((s) => announceAsSeeder(s, o.announceUrl, log)));
  status.start();
}

/** Start the announce loop of a complete torrent (left=0); resolves once the first announce was answered or failed. */
export function announceAsSeeder(seeding: Seeding, trackers: string | string[][], log: (line: string) => void): Promise<void> {
  let registered = false;
  return new Promise<void>((firstAttempt) => {
    const announcer = seeding.announce(trackers, () => ({ uploaded: seeding.uploaded, downloaded: 0, left: 0 }), {
      onReply: (reply) => {
        if (!registered) log('Successfully registered with tracker.');
        registered = true;
        firstAttempt();
        seeding.dialPeers(reply.peers);
      },
      onError: (e, retry) => {
        const where = typeof trackers === 'string' ? trackers : trackers.flat().join(', ');
        log(`${e instanceof TrackerFailure ? 'Tracker said no' : `Tracker unreachable at ${where}`} (${plainNetError(e.message)}); still serving, retrying in ${retry} s`);
        firstAttempt();
      },
    });
    announcer.start();
  });
}

function connectedPeers(host: PeerHost): number {
  const c = host.node.connections;
  return c.http + c.wire;
}
