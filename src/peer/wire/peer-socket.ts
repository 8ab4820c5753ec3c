/**
 * What the wire protocol runs over: a TCP socket, an MSE-encrypted stream over one, or a uTP
 * connection. A net.Socket is one as it stands; the others implement it as Duplex streams.
 */
import type { Duplex } from 'node:stream';

export interface PeerSocket extends Duplex {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  /** TCP only: uTP and MSE streams may leave it out. */
  setNoDelay?(noDelay?: boolean): unknown;
}
