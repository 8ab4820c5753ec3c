/**
 * One peer process's Mainline DHT node (BEP 5): bittorrent-dht on the peer's UDP port, sharing
 * the uTP endpoint's socket (KRPC datagrams start with 'd', uTP packets never do) or, with
 * `--transport tcp`, a UDP socket of its own on the same port number. Everything the library
 * receives passes DhtSocket's gate; its tables are bounded by the options below.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import DHT from 'bittorrent-dht';
import { DhtSocket } from './dht-socket.ts';
import { loadState, saveState, MAX_SAVED_NODES } from './node-store.ts';
import type { OtherPacketHandler } from '../peer/utp/endpoint.ts';

export interface DhtEndpoint {
  host: string;
  port: number;
}

export interface DhtSettings {
  /** Nodes to join through (`--dht-bootstrap`); a saved table is used first. */
  bootstrap: DhtEndpoint[];
  /** Where the routing table is saved on exit and read on start. */
  stateFile?: string;
  log?(line: string): void;
}

/** The part of the uTP endpoint the DHT uses: its hook for other datagrams, and its socket to send. */
export interface SharedUdp {
  onOtherPacket(h: OtherPacketHandler | null): void;
  sendRaw(buf: Buffer, port: number, address: string): void;
  address(): { address: string; port: number };
}

/** Re-announce every torrent this often (BEP 5 nodes forget peers after about 30 min). */
export const ANNOUNCE_EVERY_MS = 15 * 60_000;
/** What the library may hold: lookup tables, BEP 44 values (never served: the gate drops get/put), peers. */
const LIBRARY_BOUNDS = { maxTables: 100, maxValues: 100, maxPeers: 5000, maxAge: 30 * 60_000 };

export type DhtPeerHandler = (ip: string, port: number) => void;

export class PeerDht {
  private readonly announcing = new Map<string, NodeJS.Timeout>();
  private readonly handlers = new Map<string, Set<DhtPeerHandler>>();
  private closed = false;

  private constructor(
    readonly dht: DHT,
    readonly socket: DhtSocket,
    private readonly settings: DhtSettings,
    private readonly detach: () => Promise<void>,
  ) {
    dht.on('error', (e: Error) => settings.log?.(`DHT error: ${e.message}`));
    dht.on('warning', () => {}); // one datagram's problem
    dht.on('peer', (peer: { host: string; port: number }, infoHash: Buffer) => this.onPeer(peer, infoHash));
  }

  /** Join the DHT on `host`:`port` (the peer's), through `udp` when uTP is on. Rejects if it cannot bind. */
  static async start(settings: DhtSettings, host: string, port: number, udp?: SharedUdp): Promise<PeerDht> {
    if (net.isIPv6(host) && host !== '::') throw new Error(`the DHT is IPv4 (BEP 5); --host ${host} has no IPv4 address`);
    let socket: DhtSocket;
    let detach: () => Promise<void>;
    if (udp) {
      socket = new DhtSocket({ send: (b, p, a) => udp.sendRaw(b, p, a), address: () => udp.address(), ipv6: host === '::' });
      udp.onOtherPacket((msg, rinfo) => socket.deliver(msg, rinfo));
      detach = async () => udp.onOtherPacket(null);
    } else {
      const own = await bindUdp4(host === '::' ? '0.0.0.0' : host, port);
      socket = new DhtSocket({ send: (b, p, a) => own.send(b, p, a), address: () => own.address() });
      own.on('message', (msg, rinfo) => socket.deliver(msg, rinfo));
      own.on('error', () => {}); // a send to a closed port, reported later: one datagram's problem
      detach = () => new Promise((resolve) => own.close(() => resolve()));
    }
    const state = settings.stateFile ? await loadState(settings.stateFile) : { id: undefined, nodes: [] };
    const bootstrap = reachableFrom(host, settings.bootstrap, settings.log);
    const dht = new DHT({ ...LIBRARY_BOUNDS, nodeId: state.id, socket, bootstrap: bootstrap.length ? bootstrap : false, host: false });
    for (const n of state.nodes) dht.addNode(n);
    await new Promise<void>((resolve) => dht.listen(port, () => resolve()));
    const through = [state.nodes.length && `${state.nodes.length} saved node(s)`, bootstrap.length && `${bootstrap.length} bootstrap node(s)`].filter(Boolean);
    const joining = through.length ? `joining through ${through.join(' and ')}` : 'no node known yet (peers that send a BEP 5 port message add theirs)';
    settings.log?.(`DHT: node on UDP port ${socket.address().port}, ${joining}`);
    return new PeerDht(dht, socket, settings, detach);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Nodes in the routing table. */
  get nodeCount(): number {
    return this.dht.nodes.toArray().length;
  }

  /** announce_peer for `infoHash` with our `port` now and every ANNOUNCE_EVERY_MS (its lookup finds peers too). */
  keepAnnouncing(infoHash: Buffer, port: number): void {
    const key = infoHash.toString('hex');
    if (this.closed || this.announcing.has(key)) return;
    const announce = () => this.dht.announce(infoHash, port, () => {});
    announce();
    const timer = setInterval(announce, ANNOUNCE_EVERY_MS);
    timer.unref();
    this.announcing.set(key, timer);
  }

  /** get_peers for `infoHash`: the peers found go to its handlers (see onPeers). */
  lookup(infoHash: Buffer): void {
    if (!this.closed) this.dht.lookup(infoHash, () => {});
  }

  /** Be told of peers found for `infoHash` (by lookups and announces); returns the way to stop. */
  onPeers(infoHash: Buffer, handler: DhtPeerHandler): () => void {
    const key = infoHash.toString('hex');
    const set = this.handlers.get(key) ?? new Set();
    this.handlers.set(key, set.add(handler));
    return () => set.delete(handler);
  }

  /** A peer told us its DHT port (BEP 5 `port` message): ping it, and keep it if it answers. */
  nodeSeen(host: string, port: number): void {
    const ip = host.startsWith('::ffff:') ? host.slice(7) : host;
    if (!this.closed && net.isIPv4(ip) && port > 0 && port < 65536) this.dht.addNode({ host: ip, port });
  }

  /** Save the routing table, stop, and let go of the UDP socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.announcing.values()) clearInterval(t);
    const nodes = this.dht.nodes.toArray().slice(0, MAX_SAVED_NODES).map(({ id, host, port }) => ({ id, host, port }));
    if (this.settings.stateFile) await saveState(this.settings.stateFile, { id: this.dht.nodeId, nodes }).catch(() => {});
    await new Promise<void>((resolve) => this.dht.destroy(() => resolve()));
    await this.detach();
  }

  /** Found peers are hostile input too: IPv4 unicast with a port only. */
  private onPeer(peer: { host: string; port: number }, infoHash: Buffer): void {
    const set = this.handlers.get(Buffer.from(infoHash).toString('hex'));
    if (!set?.size || !isDialable(peer.host, peer.port)) return;
    for (const h of set) h(peer.host, peer.port);
  }
}

function isDialable(host: string, port: number): boolean {
  if (!net.isIPv4(host) || !(port > 0 && port < 65536)) return false;
  const first = Number(host.split('.')[0]);
  return first !== 0 && first < 224; // not "this network", multicast or broadcast
}

/** A DHT bound to loopback reaches loopback nodes only: the public routers are left out (no DNS asked). */
function reachableFrom(host: string, nodes: DhtEndpoint[], log?: (line: string) => void): DhtEndpoint[] {
  const local = (h: string) => h.startsWith('127.') || h === 'localhost';
  if (!local(host)) return nodes;
  const kept = nodes.filter((n) => local(n.host));
  if (kept.length < nodes.length) log?.(`DHT: bound to ${host}, so only nodes on this machine are reachable (--host 0.0.0.0 to join the public DHT)`);
  return kept;
}

function bindUdp4(host: string, port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}
