/**
 * A cap on the tracker's open connections, counted at accept: in total and per address (IPv4 /32,
 * IPv6 /64), through the peer's SlotPool (its per-address cap binds once half of the slots are in
 * use). Exempt addresses (loopback by default, the store's `--exempt` list) count only in the
 * total. A refused connection is closed at once, unanswered.
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

/** Gives a connection's slot back. */
export type ReleaseSlot = () => void;

/**
 * The fast path's admission: called with a socket, it takes a slot until the socket closes (and
 * destroys a refused one); `claim(address)` takes a slot for a connection that has no socket (yet),
 * or returns null when refused.
 */
export interface ConnectionAdmission {
  (socket: net.Socket): boolean;
  claim(address: string | undefined): ReleaseSlot | null;
}

export function connectionCap(limits: ConnectionLimits): ConnectionAdmission {
  const pool = new SlotPool(limits.maxConnections, limits.maxConnectionsPerAddress);
  const releaseExempt: ReleaseSlot = () => pool.releaseExempt();
  // The last address's exemption: clients reconnect from the same few addresses, and parsing the
  // address for every connection showed in the one-connection-per-announce benchmark.
  let lastAddress: string | undefined;
  let lastExempt = false;
  const claim = (address: string | undefined): ReleaseSlot | null => {
    if (address !== lastAddress) {
      lastAddress = address;
      lastExempt = address !== undefined && limits.exempt.some((c) => inCidr(address, c));
    }
    if (lastExempt) return pool.takeExempt() ? releaseExempt : null;
    const key = addressPrefix(address);
    return pool.take(key) ? () => pool.release(key) : null;
  };
  const admitSocket = (socket: net.Socket): boolean => {
    const release = claim(socket.remoteAddress);
    if (!release) {
      socket.destroy();
      return false;
    }
    socket.once('close', release);
    return true;
  };
  return Object.assign(admitSocket, { claim });
}
