/**
 * One peer process's network presence, shared by all the torrents it seeds or downloads: one
 * PeerNode (HTTP piece API and wire protocol on one port, one upload cap across all torrents)
 * and at most one DHT node on that port. Each torrent joins with a Seeding (src/seed/seeding.ts).
 */
import { PeerNode, type PeerNodeOptions } from './peer-node.ts';
import { listenErrorMessage } from '../net/listen-error.ts';
import { PeerDht } from '../dht/peer-dht.ts';
import { reservedWithDht } from '../dht/wire-port.ts';

export interface PeerHostOptions {
  host: string;
  port: number;
  peerId: Buffer;
  /** Bytes per second for all torrents together. */
  maxUploadRate?: number;
  /** Connection limits, deadlines and the DHT settings (PeerNode defaults when not given). */
  peerLimits?: PeerNodeOptions;
}

export class PeerHost {
  readonly node: PeerNode;
  /** Our DHT node, once startDht() got one. */
  dht: PeerDht | undefined;
  private dhtStarting: Promise<PeerDht | undefined> | undefined;

  private constructor(readonly o: PeerHostOptions) {
    this.node = new PeerNode({ ...o.peerLimits, maxUploadRate: o.maxUploadRate, peerId: o.peerId });
  }

  /** Listen on host:port. Rejects with a one-line reason (listen-error.ts). */
  static async listen(o: PeerHostOptions): Promise<PeerHost> {
    const h = new PeerHost(o);
    try {
      await h.node.listen(o.port, o.host);
    } catch (e) {
      await h.node.close().catch(() => {});
      throw new Error(listenErrorMessage(e as NodeJS.ErrnoException, o.host, o.port));
    }
    return h;
  }

  get port(): number {
    return this.node.port;
  }

  /**
   * Start the DHT once (when peerLimits.dht asks for it) on our port, sharing uTP's UDP socket,
   * and set the DHT bit in our handshakes. A DHT that cannot start costs only the DHT.
   */
  startDht(): Promise<PeerDht | undefined> {
    const settings = this.o.peerLimits?.dht;
    if (!settings) return Promise.resolve(undefined);
    this.dhtStarting ??= PeerDht.start(settings, this.o.host, this.node.port, this.node.utp).then(
      (dht) => {
        this.dht = dht;
        this.node.dht = { link: dht, reserved: reservedWithDht() };
        return dht;
      },
      (e: Error) => {
        settings.log?.(`DHT off: ${e.message}`);
        return undefined;
      },
    );
    return this.dhtStarting;
  }

  /** Stop serving one torrent (its store is about to close): forget it and close its connections. */
  unshare(infoHashHex: string): void {
    this.node.torrents.delete(infoHashHex);
    for (const c of this.node.wires) if (c.torrent.meta.infoHashHex === infoHashHex) c.close('no longer shared');
  }

  /** Save the DHT's routing table and leave it (before the node closes the UDP socket), then stop serving. */
  async close(): Promise<void> {
    await (await this.dhtStarting)?.close();
    await this.node.close();
  }
}
