/**
 * BEP 5 on the wire protocol: with the DHT on, our handshakes carry the DHT bit (reserved[7] &
 * 0x01); a peer whose handshake has it gets a `port` message (id 9) with our DHT port, and a
 * `port` message from any peer adds its node to our DHT (after a ping: a claim, not a fact).
 */
import { hasFeature, RESERVED } from '../peer/wire/messages.ts';
import { OUR_RESERVED } from '../peer/wire/handshake.ts';
import type { WireConnection } from '../peer/wire/connection.ts';

/** What the peer side needs of the DHT. */
export interface DhtLink {
  /** Our DHT node's UDP port. */
  readonly port: number;
  /** A peer said its DHT node listens on `port` at `host`. */
  nodeSeen(host: string, port: number): void;
}

/** Our reserved bytes with the DHT bit set. */
export function reservedWithDht(base: Buffer = OUR_RESERVED): Buffer {
  const b = Buffer.from(base);
  b[RESERVED.dht.byte]! |= RESERVED.dht.bit;
  return b;
}

/**
 * Wire `c` to the DHT: listen for its `port` message now (it may come with the handshake), and
 * send ours on the next tick, after the bitfield that c.start() sends first (BEP 3 wants it first).
 */
export function exchangePorts(c: WireConnection, theirReserved: Buffer, link: DhtLink): void {
  let told = false;
  c.on('port', (port: number) => {
    if (told) return; // one per connection: a peer cannot flood the DHT with pings through us
    told = true;
    link.nodeSeen(c.address, port);
  });
  if (hasFeature(theirReserved, 'dht')) process.nextTick(() => c.send({ type: 'port', port: link.port }));
}
