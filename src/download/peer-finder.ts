/**
 * The session's "find peers" phase: the tracker (announce loop, and asking again with backoff
 * while no peer is usable), peers that find us (HTTP listen-port hints, clients that dial us),
 * peers that others tell us of (PEX, BEP 11), and web seeds (BEP 19), which cost their origin
 * server bandwidth that peers give for free: they join at once when there is no tracker or it
 * fails or lists nobody, and after a few seconds (if the download is not done by then) when it
 * lists peers.
 */
import type { Metainfo } from '../metainfo/metainfo.ts';
import type { Bitfield } from '../bittorrent/bitfield.ts';
import { isOurPeerId } from '../bittorrent/peer-id.ts';
import type { Announcer } from '../tracker-client/announcer.ts';
import { TrackerFailure, type TrackerPeer, type TrackerReply } from '../tracker-client/reply.ts';
import type { Seeding } from '../seed/seeding.ts';
import type { Downloader } from './downloader.ts';
import { PeerSources } from './sources/peer-sources.ts';
import { WebSeedSource } from './sources/webseed-source.ts';
import { SessionError } from './session-error.ts';
import { fsErrorMessage } from '../cli/fs-messages.ts';
import { plainNetError } from '../cli/net-messages.ts';
import type { PeerProtocol } from './sources/peer-sources.ts';
import { DhtPeerSearch } from '../dht/peer-search.ts';

const WEB_SEED_DELAY_MS = 3000;

export interface PeerFinderOptions {
  meta: Metainfo;
  /** BEP 12 tiers of http(s) and udp trackers (may be empty when web seeds are the only source). */
  trackers: string[][];
  have: Bitfield;
  host: string;
  port: number;
  requestTimeoutMs: number;
  /** How peers are reached: our HTTP piece API for ours (auto), or one protocol for all. */
  protocol: PeerProtocol;
  /** Seed once complete: only then are the tracker's peers dialled after the download. */
  seedAfter: boolean;
  /** Peers known up front (`--peer`, a magnet's x.pe, the metadata phase's): dialled at the start, and again while no peer is usable. */
  peers?: TrackerPeer[];
  log(line: string): void;
}

export class PeerFinder {
  private readonly announcer: Announcer;
  private readonly peers: PeerSources;
  private lastTrackerError: string | undefined;
  /** Whether any tracker ever answered (a dead tracker is then named in the final error). */
  private trackerAnswered = false;
  /** The last tracker error said to the user, and until when it is not said again. */
  private saidTrackerError = { message: '', until: 0 };
  /** Ids of the web seeds in use: the progress line counts them apart from peers. */
  private readonly webSeedIds: string[] = [];
  /** Any source at all: tracker peers or web seeds. */
  private sawPeers = false;
  private sawTrackerPeers = false;
  private sawDhtPeers = false;
  private webSeedsStarted = false;
  private asker: NodeJS.Timeout | undefined;
  /** get_peers while downloading, when the DHT is on (src/dht/peer-search.ts). */
  private readonly dhtSearch: DhtPeerSearch | undefined;

  constructor(
    private readonly o: PeerFinderOptions,
    private readonly seeding: Seeding,
    private readonly downloader: Downloader,
  ) {
    const { meta, have } = o;
    this.peers = new PeerSources(seeding.node, downloader, meta, { host: o.host, port: o.port, requestTimeoutMs: o.requestTimeoutMs, protocol: o.protocol }, o.log);
    // Peers that fetch from us tell us where they serve: use them as sources too (any client can
    // send that header: the same gate as tracker peers, see PeerSources).
    seeding.node.onPeerSeen((hash, ip, port) => {
      if (hash === meta.infoHashHex && !have.complete && o.protocol !== 'wire') this.peers.useHttp(ip, port);
    });
    // Real clients that dial us are sources too, while we download.
    seeding.node.onWire((c) => {
      const ours = isOurPeerId(c.peerId) && o.protocol !== 'wire';
      if (c.torrent.meta.infoHashHex === meta.infoHashHex && !have.complete && !ours) this.peers.useIncoming(c);
    });
    // Peers that others tell us of (PEX, BEP 11) are dialled like tracker peers, while we download.
    seeding.node.pex.onLearned((hash, peers, from) => {
      if (hash !== meta.infoHashHex || have.complete) return;
      o.log(`Peer exchange: ${from.remote} told us of ${peers.length} peer(s)`);
      this.sawPeers = true;
      for (const p of peers) this.peers.addTrackerPeer(p);
    });
    this.dhtSearch = seeding.dht && new DhtPeerSearch(seeding.dht, meta.infoHash, { starved: () => downloader.activeSources === 0, onPeer: (p) => this.onDhtPeer(p) });
    this.announcer = seeding.announce(
      o.trackers,
      () => ({ uploaded: seeding.uploaded, downloaded: downloader.downloadedBytes, left: downloader.bytesLeft }),
      {
        onReply: (reply) => this.onReply(reply),
        onError: (e, retry) => {
          this.lastTrackerError = plainNetError(e.message);
          this.startWebSeeds();
          this.sayTrackerError(e, retry);
        },
      },
    );
  }

  start(): void {
    this.dialGivenPeers();
    this.askWhileStarved();
    if (this.o.trackers.length === 0) this.startWebSeeds();
    if (this.o.trackers.length) this.announcer.start();
    this.dhtSearch?.start();
  }

  /** The download is over (done or failed): no more asking for peers. */
  stopAsking(): void {
    clearInterval(this.asker);
    this.dhtSearch?.stop();
  }

  /** Tell the tracker the download finished (the caller waits briefly). */
  completed(): Promise<void> {
    return this.o.trackers.length ? this.announcer.completed() : Promise.resolve(); // none: DHT or web seeds only
  }

  /** Web seeds in use now (the progress line shows them apart from peers). */
  get liveWebSeeds(): number {
    return this.webSeedIds.filter((id) => this.downloader.hasSource(id)).length;
  }

  /**
   * The user's one line for a failed download, naming the cause: a tracker that never answered
   * (with its URL), a tracker that listed nobody, else `e` itself (with the dead tracker added when
   * no source is left, since it is why no new one came).
   */
  failure(e: Error, waitSeconds: number, partName = `${this.o.meta.name}.part`): SessionError {
    if (e instanceof SessionError) return e;
    // A write that failed (disk full, ...): the disk is the cause, whatever the peers did.
    const cause = e.cause as NodeJS.ErrnoException | undefined;
    if (cause?.code) return new SessionError(`cannot write to disk: ${fsErrorMessage(cause, cause.path ?? partName)}`);
    const deadTracker = this.lastTrackerError !== undefined ? `tracker unreachable at ${this.trackerUrls()} (${this.lastTrackerError})` : undefined;
    if (!this.sawPeers) {
      if (deadTracker) return new SessionError(`${deadTracker}: no peer found within ${waitSeconds} s`);
      const listed = this.trackerAnswered ? ` (the tracker at ${this.trackerUrls()} lists no peer)` : '';
      return new SessionError(`no seeders found within ${waitSeconds} s${listed}`);
    }
    if (deadTracker && this.downloader.activeSources === 0) return new SessionError(`${e.message}; ${deadTracker}`);
    return new SessionError(e.message);
  }

  private trackerUrls(): string {
    const urls = this.o.trackers.flat();
    return urls.length > 2 ? `${urls.slice(0, 2).join(', ')} and ${urls.length - 2} more` : urls.join(', ');
  }

  /**
   * A failed announce, said once: the starved loop asks again sooner than the announcer's own
   * retry, and each failure would otherwise print `retrying in N s` again within those N s.
   */
  private sayTrackerError(e: Error, retry: number): void {
    const now = Date.now();
    const message = plainNetError(e.message);
    if (message === this.saidTrackerError.message && now < this.saidTrackerError.until) return;
    this.saidTrackerError = { message, until: now + Math.max(retry, 60) * 1000 };
    const what = e instanceof TrackerFailure ? 'Tracker said no' : `Tracker unreachable at ${this.trackerUrls()}`;
    this.o.log(`${what} (${message}); asking again every ${retry < 60 ? 'few' : retry} seconds`);
  }

  private onReply(reply: TrackerReply): void {
    const { log } = this.o;
    this.lastTrackerError = undefined;
    this.trackerAnswered = true;
    this.saidTrackerError = { message: '', until: 0 };
    if (reply.peers.length === 0) this.startWebSeeds();
    else setTimeout(() => this.startWebSeeds(), WEB_SEED_DELAY_MS).unref();
    if (this.o.have.complete) {
      // Seeding: dial the peers, as the seeder does. Not seeding: nothing to trade with anyone.
      if (this.o.seedAfter) this.seeding.dialPeers(reply.peers);
      return;
    }
    if (reply.peers.length === 0) {
      if (!this.sawTrackerPeers) log('No seeders yet; asking the tracker again shortly');
      return;
    }
    if (!this.sawTrackerPeers) log(`${foundPeersLine(reply)}, starting download...`);
    this.sawPeers = this.sawTrackerPeers = true;
    for (const p of reply.peers) this.peers.addTrackerPeer(p);
  }

  /** A peer from the DHT: one more source, through the same gate as the tracker's. */
  private onDhtPeer(p: TrackerPeer): void {
    if (this.o.have.complete) return;
    if (!this.sawDhtPeers) this.o.log('Found peers through the DHT, starting download...');
    this.sawPeers = this.sawDhtPeers = true;
    this.peers.addTrackerPeer(p);
  }

  /** While no peer is usable, ask the tracker again and redial the given peers, with backoff (1 s doubling to 15 s). */
  private askWhileStarved(): void {
    let backoff = 1;
    let nextAsk = Date.now() + 1000;
    this.asker = setInterval(() => {
      if (this.downloader.activeSources > 0) {
        backoff = 1;
        return;
      }
      if (Date.now() < nextAsk) return;
      this.dialGivenPeers();
      if (this.o.trackers.length) this.announcer.refresh();
      backoff = Math.min(backoff * 2, 15);
      nextAsk = Date.now() + backoff * 1000;
    }, 250);
  }

  private dialGivenPeers(): void {
    for (const p of this.o.peers ?? []) this.peers.addTrackerPeer(p);
    if (this.o.peers?.length) this.sawPeers = true;
  }

  private startWebSeeds(): void {
    const { meta, log } = this.o;
    if (this.webSeedsStarted || this.o.have.complete) return;
    this.webSeedsStarted = true;
    for (const url of meta.urlList.filter((u) => /^https?:\/\//i.test(u))) {
      const source = new WebSeedSource(url, meta, this.o.requestTimeoutMs);
      if (this.downloader.addSource(source)) {
        this.webSeedIds.push(source.id);
        this.sawPeers = true;
        log(`Downloading ${meta.name} from web seed ${url}`);
      }
    }
  }
}

/**
 * `Found 1 seeder(s)` only when every listed peer is a seed by the tracker's counts; else
 * `Found 2 peers (1 seeder)`. The counts cover the whole swarm (us too), the list a sample of it.
 */
export function foundPeersLine(reply: Pick<TrackerReply, 'peers' | 'complete'>): string {
  const n = reply.peers.length;
  if (reply.complete === undefined) return `Found ${n} ${n === 1 ? 'peer' : 'peers'}`;
  const seeders = Math.min(reply.complete, n);
  if (seeders === n) return `Found ${n} seeder(s)`;
  return `Found ${n} ${n === 1 ? 'peer' : 'peers'} (${seeders} ${seeders === 1 ? 'seeder' : 'seeders'})`;
}
