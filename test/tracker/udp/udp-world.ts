/** An in-process UDP tracker front end over a memory store, for the tests over loopback sockets. */
import { MemorySwarmStore } from '../../../src/tracker/store/memory-store.ts';
import { TrackerService, trackerConfig, type TorrentFilter } from '../../../src/tracker/service.ts';
import { createUdpFrontEnd, type UdpFrontEnd } from '../../../src/tracker/udp/server.ts';
import { loadUdpBatchAddon, type UdpIo } from '../../../src/tracker/udp/batch-native.ts';
import type { SwarmStore } from '../../../src/tracker/store/swarm-store.ts';
import type { AnnounceRequest } from '../../../src/tracker/protocol/announce.ts';
import { UdpProbe } from './udp-probe.ts';

export interface UdpWorld {
  service: TrackerService;
  front: UdpFrontEnd;
  host: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * The UDP I/O paths to test: node:dgram always, the native batch addon when it is built (under
 * CI=true it must be: `npm ci` builds it; a missing one fails the test named below).
 */
export const UDP_IOS: UdpIo[] = loadUdpBatchAddon() ? ['batch', 'dgram'] : ['dgram'];

export async function udpWorld(opts: { host?: string; store?: SwarmStore; torrents?: TorrentFilter; trustIpParam?: boolean; secret?: string; io?: UdpIo } = {}): Promise<UdpWorld> {
  const host = opts.host ?? '127.0.0.1';
  const store = opts.store ?? new MemorySwarmStore(60_000);
  const service = new TrackerService(store, trackerConfig(1800, { trustIpParam: opts.trustIpParam ?? false }), { torrents: opts.torrents });
  const front = createUdpFrontEnd(service, { secret: opts.secret ?? null, io: opts.io });
  await front.bind(0, host);
  const port = front.address()!.port;
  return { service, front, host, port, stop: () => front.stop() };
}

/** A peer announced straight to the service (to fill a swarm without a datagram each). */
export function seedPeer(service: TrackerService, infoHash: Buffer, ip: string, port: number, left = 0): void {
  const req: AnnounceRequest = {
    infoHash, peerId: Buffer.alloc(20, port & 0xff), ip, family: ip.includes(':') ? 6 : 4, port, uploaded: 0, downloaded: 0, left, event: 'started', numwant: 0, compact: true, noPeerId: true,
  };
  const r = service.announce(req);
  if (r instanceof Promise) throw new Error('seedPeer wants a store that answers at once');
}

/** Every world and probe one test file opens, closed together: call `cleanup()` in `after`. */
export class UdpScope {
  private readonly worlds: UdpWorld[] = [];
  private readonly probes: UdpProbe[] = [];

  constructor(private readonly defaults: Parameters<typeof udpWorld>[0] = {}) {}

  async world(opts: Parameters<typeof udpWorld>[0] = {}): Promise<UdpWorld> {
    const w = await udpWorld({ ...this.defaults, ...opts });
    this.worlds.push(w);
    return w;
  }

  /** A client socket (bound to `local` when given) talking to `w` at `host` (default: its own). */
  async probe(w: UdpWorld, local?: string, host = w.host): Promise<UdpProbe> {
    const p = await UdpProbe.open(host, w.port, local);
    this.probes.push(p);
    return p;
  }

  async cleanup(): Promise<void> {
    for (const p of this.probes) p.close();
    for (const w of this.worlds) await w.stop();
  }
}
