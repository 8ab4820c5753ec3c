/**
 * The UDP tracker front end on the native batch addon (batch-socket.ts): what server.ts's dgram
 * front end does, with recvmmsg/sendmmsg batches. The handler stays the one owner of BEP 15.
 *
 * In a node:cluster worker each worker binds its own socket to the port with SO_REUSEPORT (the
 * kernel spreads clients over them by address and port), instead of dgram's socket that the
 * primary holds and shares: the addon's socket is not a handle cluster knows how to share.
 */
import cluster from 'node:cluster';
import net from 'node:net';
import type { TrackerService } from '../service.ts';
import type { ConnectionIds } from './connection-id.ts';
import { UdpTrackerHandler } from './handler.ts';
import type { UdpBatchAddon } from './batch-native.ts';
import { BatchUdpSocket, type LogOnce } from './batch-socket.ts';
import type { UdpFrontEnd, UdpAddress } from './server.ts';

export function createBatchFrontEnd(addon: UdpBatchAddon, service: TrackerService, ids: ConnectionIds, logOnce: LogOnce, bufferBytes: number): UdpFrontEnd {
  let socket: BatchUdpSocket | null = null;
  let bound: UdpAddress | null = null;

  const bind = async (port: number, host: string) => {
    if (socket) throw new Error('already bound');
    const family = net.isIPv6(host) ? 6 : 4;
    const handler = new UdpTrackerHandler(service, ids, family);
    const handle = (msg: Buffer, address: string, p: number) => handler.handle(msg, address, p);
    const s = new BatchUdpSocket(addon, { family, host, port, reusePort: cluster.isWorker, bufferBytes }, handle, logOnce);
    socket = s;
    bound = { address: host, port: s.port, family };
  };

  const stop = async () => {
    socket?.close();
    socket = null;
    bound = null;
  };

  return { io: 'batch', bind, stop, address: () => bound };
}
