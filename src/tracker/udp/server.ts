/**
 * The UDP tracker front end (BEP 15): datagrams in, the handler's answers out, over the native
 * batch addon when it loads (batch-front-end.ts; batch-native.ts owns the choice), else over
 * `node:dgram` (here). A bad datagram, a failed send or a socket error costs that datagram only:
 * logged (once per kind), never thrown. On dgram, in a `node:cluster` worker the socket is shared
 * with the other workers (dgram's default, `exclusive: false`): the primary holds it, the kernel
 * spreads the datagrams.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { TrackerService } from '../service.ts';
import { ConnectionIds } from './connection-id.ts';
import { UdpTrackerHandler } from './handler.ts';
import { chooseUdpIo, type UdpIo } from './batch-native.ts';
import { createBatchFrontEnd } from './batch-front-end.ts';

export interface UdpFrontEndOptions {
  /** The connection ids' key, shared by every process of one tracker; null: random per run. */
  secret: string | null;
  /** Force the I/O (tests); default: the addon when it loads, unless P2P_UDP_BATCH=0. */
  io?: UdpIo;
}

export interface UdpAddress {
  address: string;
  port: number;
  family: 4 | 6;
}

export interface UdpFrontEnd {
  /** What carries the datagrams: the native batch addon, or node:dgram. */
  readonly io: UdpIo;
  /** Bind to `host`:`port` (an IPv6 address gives an IPv6 socket; `::` takes IPv4 too). */
  bind(port: number, host: string): Promise<void>;
  stop(): Promise<void>;
  /** Where it is bound (null before bind and after stop). */
  address(): UdpAddress | null;
}

/**
 * Kernel buffers asked for: a burst of announces queues here instead of being dropped while a
 * slow answer (a store round trip) is under way. Linux caps it at net.core.rmem_max / wmem_max.
 */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export function createUdpFrontEnd(service: TrackerService, options: UdpFrontEndOptions): UdpFrontEnd {
  const ids = new ConnectionIds(options.secret);
  const logged = new Set<string>();
  const logOnce = (what: string, e: unknown) => {
    const label = `${what}: ${(e as NodeJS.ErrnoException | undefined)?.code ?? (e as Error | undefined)?.name ?? 'error'}`;
    if (logged.has(label)) return;
    logged.add(label);
    console.error(`udp tracker: ${label} (logged once):`, e instanceof Error ? e.message : e);
  };
  const choice = chooseUdpIo(options.io);
  if (choice.io === 'batch') return createBatchFrontEnd(choice.addon, service, ids, logOnce, SOCKET_BUFFER_BYTES);
  return createDgramFrontEnd(service, ids, logOnce);
}

function createDgramFrontEnd(service: TrackerService, ids: ConnectionIds, logOnce: (what: string, e: unknown) => void): UdpFrontEnd {
  let socket: dgram.Socket | null = null;
  let running = false;

  // One callback for every send: a refused send (ENOBUFS, EPERM, a closed socket) is logged, not thrown.
  const sent = (e: Error | null) => {
    if (e) logOnce('send', e);
  };
  const send = (s: dgram.Socket, answer: Buffer, rinfo: dgram.RemoteInfo) => {
    if (!running) return;
    try {
      s.send(answer, rinfo.port, rinfo.address);
    } catch (e) {
      logOnce('send', e);
    }
  };

  const bind = (port: number, host: string) =>
    new Promise<void>((resolve, reject) => {
      if (socket) return reject(new Error('already bound'));
      const family = net.isIPv6(host) ? 6 : 4;
      const s = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: family === 6 ? literal6 : literal4 });
      socket = s;
      const handler = new UdpTrackerHandler(service, ids, family);
      s.on('message', (msg, rinfo) => {
        let answer: Buffer | Promise<Buffer> | null;
        try {
          answer = handler.handle(msg, rinfo.address, rinfo.port);
        } catch (e) {
          logOnce('handler', e);
          return;
        }
        if (answer === null) return;
        if (Buffer.isBuffer(answer)) send(s, answer, rinfo);
        else answer.then((a) => send(s, a, rinfo), (e: unknown) => logOnce('handler', e));
      });
      const failedToBind = (e: Error) => {
        socket = null;
        s.close();
        reject(e);
      };
      s.once('error', failedToBind);
      s.bind({ port, address: host }, () => {
        s.off('error', failedToBind);
        s.on('error', (e) => logOnce('socket', e));
        running = true;
        setBufferSizes(s, logOnce);
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      const s = socket;
      running = false;
      socket = null;
      if (!s) return resolve();
      try {
        s.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });

  const address = (): UdpAddress | null => {
    if (!socket || !running) return null;
    const a = socket.address();
    return { address: a.address, port: a.port, family: a.family === 'IPv6' ? 6 : 4 };
  };
  return { io: 'dgram', bind, stop, address };
}

/**
 * Answers go to the address the datagram came from, always an IP literal: dgram's default lookup
 * would send each one through dns.lookup and a nextTick first.
 */
type LookupCallback = (err: Error | null, address: string, family: number) => void;
function literal4(address: string, _family: unknown, callback: LookupCallback): void {
  callback(null, address, 4);
}
function literal6(address: string, _family: unknown, callback: LookupCallback): void {
  callback(null, address, 6);
}

function setBufferSizes(s: dgram.Socket, logOnce: (what: string, e: unknown) => void): void {
  try {
    if (s.getRecvBufferSize() < SOCKET_BUFFER_BYTES) s.setRecvBufferSize(SOCKET_BUFFER_BYTES);
    if (s.getSendBufferSize() < SOCKET_BUFFER_BYTES) s.setSendBufferSize(SOCKET_BUFFER_BYTES);
  } catch (e) {
    logOnce('buffer size', e);
  }
}
