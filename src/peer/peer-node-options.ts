/** A peer node's options (`--max-connections` and the other peer flags) and their defaults. */
import type { EncryptionPolicy, TransportChoice } from './transport-options.ts';
import type { DhtSettings } from '../dht/peer-dht.ts';

export interface PeerNodeOptions {
  /** Cap on every byte uploaded, in bytes per second (`--max-upload-rate`). */
  maxUploadRate?: number;
  /** Our 20-byte peer_id, sent in wire handshakes (a fresh one by default). */
  peerId?: Buffer;
  /** Most connections at once, for HTTP and for the wire protocol each (`--max-connections`). */
  maxConnections?: number;
  /**
   * Most HTTP connections from one address once half of the slots are in use; the wire
   * protocol allows half as many (`--max-connections-per-ip`).
   */
  maxConnectionsPerIp?: number;
  /** A wire peer that sent nothing for this long is closed (`--idle-timeout`). */
  idleTimeoutMs?: number;
  /** A client that takes no bytes of an answer for this long is closed (`--send-timeout`). */
  sendTimeoutMs?: number;
  /** MSE/PE policy (`--encryption`, default allow). */
  encryption?: EncryptionPolicy;
  /** TCP and/or uTP (`--transport`, default both). */
  transport?: TransportChoice;
  /** The DHT (`--dht`), run beside this node by Seeding (src/dht/peer-dht.ts); off when not given. */
  dht?: DhtSettings;
}

export const PEER_DEFAULTS = {
  maxConnections: 200,
  maxConnectionsPerIp: 16,
  idleTimeoutMs: 180_000,
  sendTimeoutMs: 30_000,
} as const;
