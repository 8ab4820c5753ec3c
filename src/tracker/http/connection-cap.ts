/**
 * A cap on the tracker's open connections, counted at accept: in total and per address (IPv4 /32,
 * IPv6 /64), through the peer's SlotPool (its per-address cap binds once half of the slots are in
 * use). Exempt addresses (loopback by default, the store's `--exempt` list) count only in the
 * total. A refused socket is destroyed at once, unanswered.
 */
import type net from 'node:net';
import { SlotPool } from '../../net/slots.ts';
import { addressPrefix } from '../../bittorrent/address.ts';
import { inCidr, type Cidr } from '../client-address.ts';
import { LOOPBACK } from '../store/swarm-store.ts';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Addresses the per-address cap does not apply to. */
  exempt: readonly Cidr[];
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 10_000, maxConnectionsPerAddress: 256, exempt: LOOPBACK };

/** An `admit(socket)` for the fast path's listener: takes a slot until the socket closes. */
export function connectionCap(limits: ConnectionLimits): (socket: net.Socket) => boolean {
  const pool = new SlotPool(limits.maxConnections, limits.maxConnectionsPerAddress);
  let exemptSerial = 0;
  return (socket) => {
    const address = socket.remoteAddress;
    // An exempt connection gets a key of its own: it counts in the total, never against an address.
    const exempt = address !== undefined && limits.exempt.some((c) => inCidr(address, c));
    const key = exempt ? `exempt ${exemptSerial++}` : addressPrefix(address);
    if (!pool.take(key)) {
      socket.destroy();
      return false;
    }
    socket.once('close', () => pool.release(key));
    return true;
  };
}
