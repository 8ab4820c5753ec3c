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
  // The last address's exemption: clients reconnect from the same few addresses, and parsing the
  // address for every connection showed in the one-connection-per-announce benchmark.
  let lastAddress: string | undefined;
  let lastExempt = false;
  return (socket) => {
    const address = socket.remoteAddress;
    if (address !== lastAddress) {
      lastAddress = address;
      lastExempt = address !== undefined && limits.exempt.some((c) => inCidr(address, c));
    }
    if (lastExempt) {
      if (!pool.takeExempt()) return refuse(socket);
      socket.once('close', () => pool.releaseExempt());
      return true;
    }
    const key = addressPrefix(address);
    if (!pool.take(key)) return refuse(socket);
    socket.once('close', () => pool.release(key));
    return true;
  };
}

function refuse(socket: net.Socket): false {
  socket.destroy();
  return false;
}
