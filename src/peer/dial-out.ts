/**
 * Dial the peers a tracker lists, as BitTorrent clients do: some clients never dial loopback
 * peers they learn from a tracker (Transmission 3.00) and can only be reached this way. Our own
 * peers (by peer_id prefix) are left to the HTTP API and the connection is closed.
 */
import type { PeerNode } from './peer-node.ts';
import { isOurPeerId } from '../bittorrent/peer-id.ts';
import type { TrackerPeer } from '../tracker-client/reply.ts';

/** Dial the same address again at most this often (unless a connection to it is up). */
const RETRY_MS = 10_000;

export class DialOut {
  private readonly tried = new Map<string, number>();

  constructor(
    private readonly node: PeerNode,
    private readonly infoHashHex: string,
  ) {}

  dialAll(peers: TrackerPeer[]): void {
    const now = Date.now();
    for (const p of peers) {
      const key = `${p.ip}|${p.port}`;
      if (now - (this.tried.get(key) ?? 0) < RETRY_MS || this.node.hasWireTo(p.ip, p.port)) continue;
      this.tried.set(key, now);
      this.node.dial(p.ip, p.port, this.infoHashHex).then(
        (c) => {
          if (isOurPeerId(c.peerId)) c.close('one of ours: it uses the HTTP API');
        },
        () => {}, // unreachable or not a BitTorrent peer: try again later
      );
    }
  }
}
