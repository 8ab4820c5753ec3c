/**
 * Turns peers into download sources. A tracker peer is dialled over the wire protocol; if its
 * peer_id says it is one of ours, its HTTP piece API is used instead (1 MiB requests, less
 * overhead), else the wire connection itself. Each peer is used once, whichever way it came.
 * Peers that dial us and HTTP listen-port hints (which any client can send) go through the same
 * gate as tracker peers: the downloader's ban list and per-address and total limits, checked
 * before anything is dialled; a banned address that dials us is disconnected at once.
 */
import type { Metainfo } from '../../metainfo/metainfo.ts';
import type { PeerNode } from '../../peer/peer-node.ts';
import type { WireConnection } from '../../peer/wire/connection.ts';
import { isOurPeerId } from '../../bittorrent/peer-id.ts';
import type { TrackerPeer } from '../../tracker-client/reply.ts';
import type { Downloader } from '../downloader.ts';
import { HttpPeerSource } from './http-source.ts';
import { WireSource } from './wire-source.ts';
import { hostPort } from '../../bittorrent/address.ts';

/** auto: peers of ours over our HTTP piece API, others over the wire; wire / http: one for all. */
export type PeerProtocol = 'auto' | 'wire' | 'http';
export const PEER_PROTOCOLS: readonly PeerProtocol[] = ['auto', 'wire', 'http'];

/** How long a dialled peer has to say what it holds (it comes right after the handshake). */
const PIECE_LIST_WAIT_MS = 2000;

/** Resolves once `c` said what it holds (bitfield, have_all, have_none), closed, or after `ms`. */
function pieceList(c: WireConnection, ms: number): Promise<void> {
  if (c.pieces.announced || c.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      c.off('bitfield', done).off('have', done).off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    c.on('bitfield', done).on('have', done).on('close', done);
  });
}

export interface PeerSourcesOptions {
  /** Where we listen: never a source for ourselves, and told to HTTP peers. */
  host: string;
  port: number;
  requestTimeoutMs: number;
  protocol: PeerProtocol;
}

export class PeerSources {
  private readonly dialing = new Set<string>();
  /** ip|port -> the id of the source in use for it. */
  private readonly sourceOf = new Map<string, string>();
  /** ip|port of peers of ours used over HTTP whose wire connection stays open for PEX. */
  private readonly keptForPex = new Set<string>();

  constructor(
    private readonly node: PeerNode,
    private readonly downloader: Downloader,
    private readonly meta: Metainfo,
    private readonly opts: PeerSourcesOptions,
    private readonly log: (line: string) => void,
  ) {}

  /** Use a peer through our HTTP piece API; `seed`: it showed every piece (the log says Seeder, else peer). */
  useHttp(ip: string, port: number, seed = false): boolean {
    if (this.downloader.refusal(ip) !== undefined) return false;
    const source = new HttpPeerSource(ip, port, this.meta.infoHashHex, this.meta.pieceCount, {
      timeoutMs: this.opts.requestTimeoutMs,
      listenPort: this.opts.port,
      refreshMs: 250,
      pieceLength: this.meta.pieceLength,
    });
    if (this.downloader.hasSource(source.id) || !this.downloader.addSource(source)) return false;
    this.log(`Downloading ${this.meta.name} from ${seed ? 'Seeder' : 'peer'} ${source.label}`);
    return true;
  }

  /** Use a wire connection (dialled, or a client that dialled us). */
  useWire(c: WireConnection, label: string): boolean {
    if (!this.downloader.addSource(new WireSource(c, label, this.opts.requestTimeoutMs))) return false;
    this.log(`Downloading ${this.meta.name} from ${c.peerHave.complete ? 'Seeder' : 'peer'} ${label} (BitTorrent protocol)`);
    return true;
  }

  /** A client that dialled us: a source if the gate lets it in; closed if its address is banned. */
  useIncoming(c: WireConnection): boolean {
    const ip = c.socket.remoteAddress ?? '';
    if (this.downloader.isBanned(ip)) {
      c.close('banned address');
      return false;
    }
    return this.useWire(c, c.remote);
  }

  /** A peer the tracker listed: dial it unless it is ourselves, already in use, or refused. */
  addTrackerPeer(p: TrackerPeer): void {
    if (p.port === this.opts.port && p.ip === this.opts.host) return; // a tracker that lists us to ourselves
    if (this.downloader.refusal(p.ip) !== undefined) return;
    const key = `${p.ip}|${p.port}`;
    const inUse = this.sourceOf.get(key);
    if (this.dialing.has(key) || (inUse && this.downloader.hasSource(inUse)) || this.downloader.hasSource(HttpPeerSource.idFor(p.ip, p.port))) return;
    if (this.opts.protocol === 'http' || this.keptForPex.has(key)) {
      this.useHttp(p.ip, p.port);
      return;
    }
    this.dialing.add(key);
    const label = hostPort(p.ip, p.port);
    this.node
      .dial(p.ip, p.port, this.meta.infoHashHex)
      .then(async (c) => {
        await pieceList(c, PIECE_LIST_WAIT_MS);
        return c;
      })
      .then(
        (c) => {
          // A peer of ours that holds pieces serves them faster over its HTTP API; one that shows
          // none (a super-seeder hides them, BEP 16) is used over the wire.
          if (isOurPeerId(c.peerId) && this.opts.protocol === 'auto' && c.peerHave.count > 0) {
            this.keepForPex(c, key);
            this.useHttp(p.ip, p.port, c.peerHave.complete);
          } else if (this.useWire(c, label)) {
            this.sourceOf.set(key, WireSource.idFor(c.peerId));
          } else {
            c.close('already connected to this peer');
          }
        },
        // No wire protocol there (an HTTP-only peer of ours, or the handshake failed): try HTTP.
        () => this.opts.protocol === 'auto' && this.useHttp(p.ip, p.port),
      )
      .finally(() => this.dialing.delete(key));
  }

  /**
   * A peer of ours whose HTTP API we use: its wire connection stays open, idle, while both speak
   * the extension protocol (BEP 10) of a public torrent, so that peer exchange (BEP 11) flows.
   */
  private keepForPex(c: WireConnection, key: string): void {
    if (!c.extended || this.meta.private) return c.close('one of ours: using its HTTP API');
    this.keptForPex.add(key);
    c.once('close', () => this.keptForPex.delete(key));
  }
}
