/**
 * Seeding, shared by the seeder and the requester (which serves its verified pieces while it
 * downloads and seeds once done): our peer side (PeerNode: the HTTP piece API and the wire
 * protocol on one port) serving one torrent, the announce loop, the dial-out to the peers the
 * tracker lists, and their shutdown in one order.
 */
import { listenErrorMessage } from '../net/listen-error.ts';
import type { Metainfo } from '../metainfo/metainfo.ts';
import type { PieceStore } from '../storage/piece-store.ts';
import type { Bitfield } from '../bittorrent/bitfield.ts';
import { PeerNode, type PeerNodeOptions } from '../peer/peer-node.ts';
import { DialOut } from '../peer/dial-out.ts';
import { Announcer, type AnnouncerEvents } from '../tracker-client/announcer.ts';
import type { TrackerPeer } from '../tracker-client/reply.ts';

export interface SeedingOptions {
  meta: Metainfo;
  store: PieceStore;
  /** The pieces held: served as they are set (a full bitfield for the seeder). */
  have: Bitfield;
  host: string;
  port: number;
  peerId: Buffer;
  maxUploadRate?: number;
  /** Connection limits and deadlines of our peer side (PeerNode defaults when not given). */
  peerLimits?: PeerNodeOptions;
  /** BEP 16 super-seeding of this torrent. */
  superSeeding?: boolean;
}

/** Our byte counts for the tracker (`downloaded` and `left` are 0 for a seeder). */
export type AnnounceProgress = () => { uploaded: number; downloaded: number; left: number };

export class Seeding {
  readonly node: PeerNode;
  private readonly dialOut: DialOut;
  private announcer: Announcer | undefined;

  private constructor(private readonly o: SeedingOptions) {
    this.node = new PeerNode({ ...o.peerLimits, maxUploadRate: o.maxUploadRate, peerId: o.peerId });
    this.dialOut = new DialOut(this.node, o.meta.infoHashHex);
    this.node.share({ meta: o.meta, store: o.store, have: o.have, superSeeding: o.superSeeding });
  }

  /** Serve the torrent on host:port. Rejects with a one-line reason (listen-error.ts). */
  static async listen(o: SeedingOptions): Promise<Seeding> {
    const s = new Seeding(o);
    try {
      await s.node.listen(o.port, o.host);
    } catch (e) {
      throw new Error(listenErrorMessage(e as NodeJS.ErrnoException, o.host, o.port));
    }
    return s;
  }

  get uploaded(): number {
    return this.node.counter.uploaded;
  }

  /** The announce loop for `trackers` (one URL, or BEP 12 tiers); call start() on it. */
  announce(trackers: string | string[][], progress: AnnounceProgress, events: AnnouncerEvents): Announcer {
    const { meta, peerId, port } = this.o;
    this.announcer = new Announcer(trackers, { infoHash: meta.infoHash, peerId, port, numwant: 50 }, progress, events);
    return this.announcer;
  }

  /** Dial the peers a tracker listed, ourselves aside (some clients never dial loopback peers). */
  dialPeers(peers: TrackerPeer[]): void {
    this.dialOut.dialAll(peers.filter((p) => !(p.port === this.o.port && p.ip === this.o.host)));
  }

  /** Tell the tracker we leave (`stopped`, bounded), then stop serving. The store stays open. */
  async stop(): Promise<void> {
    await this.announcer?.stop();
    await this.node.close();
  }

  /** stop(), then close the store. */
  async close(): Promise<void> {
    await this.stop();
    await this.o.store.close();
  }
}

/** Resolves on the first SIGINT or SIGTERM; cancel() removes the handlers. */
export function untilSignal(): { promise: Promise<void>; cancel(): void } {
  let cancel = () => {};
  const promise = new Promise<void>((resolve) => {
    const on = () => resolve();
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
    cancel = () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    };
  });
  return { promise, cancel };
}
