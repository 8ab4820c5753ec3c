/**
 * Seeding, shared by the seeder and the requester (which serves its verified pieces while it
 * downloads and seeds once done): one torrent on the process's peer side (PeerHost: the HTTP
 * piece API, the wire protocol and the DHT on one port, shared by all its torrents), its announce
 * loop, the dial-out to the peers the tracker lists, and their shutdown in one order.
 */
import type { Metainfo } from '../metainfo/metainfo.ts';
import type { PieceStore } from '../storage/piece-store.ts';
import type { Bitfield } from '../bittorrent/bitfield.ts';
import type { PeerNode, PeerNodeOptions } from '../peer/peer-node.ts';
import { PeerHost } from '../peer/peer-host.ts';
import { DialOut } from '../peer/dial-out.ts';
import { Announcer, type AnnouncerEvents } from '../tracker-client/announcer.ts';
import type { TrackerPeer } from '../tracker-client/reply.ts';
import type { PeerDht } from '../dht/peer-dht.ts';

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

/** What a torrent needs to join a PeerHost that already listens. */
export type TorrentToShare = Pick<SeedingOptions, 'meta' | 'store' | 'have' | 'superSeeding'>;

/** Our byte counts for the tracker (`downloaded` and `left` are 0 for a seeder). */
export type AnnounceProgress = () => { uploaded: number; downloaded: number; left: number };

export class Seeding {
  readonly node: PeerNode;
  private readonly dialOut: DialOut;
  private announcer: Announcer | undefined;

  /** `ownsHost`: this torrent alone uses the host, which closes with it (Seeding.listen). */
  private constructor(
    readonly host: PeerHost,
    private readonly t: TorrentToShare,
    private readonly ownsHost: boolean,
  ) {
    this.node = host.node;
    this.dialOut = new DialOut(this.node, t.meta.infoHashHex);
    this.node.share({ meta: t.meta, store: t.store, have: t.have, superSeeding: t.superSeeding });
  }

  /** Serve one torrent on a port of its own, host:port. Rejects with a one-line reason (listen-error.ts). */
  static async listen(o: SeedingOptions): Promise<Seeding> {
    const host = await PeerHost.listen(o);
    return Seeding.join(host, o, true);
  }

  /** Serve one more torrent on `host`, which stays open when this torrent stops. */
  static on(host: PeerHost, t: TorrentToShare): Promise<Seeding> {
    return Seeding.join(host, t, false);
  }

  private static async join(host: PeerHost, t: TorrentToShare, ownsHost: boolean): Promise<Seeding> {
    const s = new Seeding(host, t, ownsHost);
    await s.joinDht();
    return s;
  }

  /** The DHT node of our host, if it runs. */
  get dht(): PeerDht | undefined {
    return this.host.dht;
  }

  /** Announce the torrent on the host's DHT (started on first use); never a private torrent. */
  private async joinDht(): Promise<void> {
    const settings = this.host.o.peerLimits?.dht;
    if (!settings) return;
    if (this.t.meta.private) return settings.log?.('DHT off: the torrent is private (BEP 27: its peers come from its trackers only)');
    const dht = await this.host.startDht();
    dht?.keepAnnouncing(this.t.meta.infoHash, this.node.port);
  }

  get uploaded(): number {
    return this.node.stats.get(this.t.meta.infoHashHex)?.upload.uploaded ?? this.node.counter.uploaded;
  }

  /** The announce loop for `trackers` (one URL, or BEP 12 tiers); call start() on it. */
  announce(trackers: string | string[][], progress: AnnounceProgress, events: AnnouncerEvents): Announcer {
    const { infoHash } = this.t.meta;
    this.announcer = new Announcer(trackers, { infoHash, peerId: this.node.peerId, port: this.node.port, numwant: 50 }, progress, events);
    return this.announcer;
  }

  /** Dial the peers a tracker listed, ourselves aside (some clients never dial loopback peers). */
  dialPeers(peers: TrackerPeer[]): void {
    const { host } = this.host.o;
    this.dialOut.dialAll(peers.filter((p) => !(p.port === this.node.port && p.ip === host)));
  }

  /** Tell the tracker we leave (`stopped`, bounded), then stop serving the torrent. The store stays open. */
  async stop(): Promise<void> {
    await this.announcer?.stop();
    if (this.ownsHost) await this.host.close();
    else this.host.unshare(this.t.meta.infoHashHex);
  }

  /** stop(), then close the store. */
  async close(): Promise<void> {
    await this.stop();
    await this.t.store.close();
  }
}
