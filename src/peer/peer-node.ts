/**
 * One peer process's network side: the torrents it shares, on one port that answers both HTTP
 * (our peer API, people) and the BitTorrent wire protocol (real clients). The first byte of a
 * connection decides: a BitTorrent handshake starts with byte 19; HTTP starts with a method name.
 */
import http from 'node:http';
import net from 'node:net';
import { createPeerServer, type PeerApiContext } from './http-api.ts';
import type { SharedTorrent, UploadCounter } from './shared-torrent.ts';
import { listen, serveHandedOver } from '../net/server-timeouts.ts';
import { RateLimiter } from '../net/rate-limiter.ts';
import { WireConnection, type WireContext } from './wire/connection.ts';
import { openWire, type OpenedWire } from './wire/dial.ts';
import { UtpEndpoint } from './utp/endpoint.ts';
import type { UtpSocket } from './utp/utp-socket.ts';
import { acceptWire } from './wire/accept.ts';
import { sniffOpening } from './sniff.ts';
import type { Handshake } from './wire/messages.ts';
import type { PeerSocket } from './wire/peer-socket.ts';
import { Choker } from './wire/choker.ts';
import { newPeerId } from '../bittorrent/peer-id.ts';
import { ChunkPool } from './chunk-pool.ts';
import { SlotPool } from '../net/slots.ts';
import { addressPrefix } from '../bittorrent/address.ts';
import type { EncryptionPolicy, TransportChoice } from './transport-options.ts';
import { PEER_DEFAULTS, type PeerNodeOptions } from './peer-node-options.ts';
import { SuperSeeder } from '../seed/super-seed.ts';
import { PeerStats } from './stats/peer-stats.ts';
import { PexHub } from './pex-hub.ts';
import { exchangePorts, type DhtLink } from '../dht/wire-port.ts';

export { PEER_DEFAULTS, type PeerNodeOptions } from './peer-node-options.ts';

const SNIFF_TIMEOUT_MS = 15_000;
/** From a connection's first byte to the end of its handshake (MSE's included). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const UTP_FIRST_BYTE_MS = 5_000;
/** Requests an HTTP connection may have waiting behind the one being answered. */
const MAX_PIPELINE = 32;
const BUSY = Buffer.from('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 18\r\nRetry-After: 10\r\nConnection: close\r\n\r\ntoo many clients\r\n', 'latin1');

export class PeerNode {
  readonly torrents = new Map<string, SharedTorrent>();
  readonly counter: UploadCounter = { uploaded: 0 };
  readonly http: http.Server;
  readonly wires = new Set<WireConnection>();
  readonly stats = new PeerStats(this.counter, this.torrents, () => this.wires); // the dashboard's and /metrics' numbers
  /** Peer exchange (BEP 11) on every wire connection; the download listens for the peers it learns. */
  readonly pex = new PexHub();
  private readonly superSeeders = new Map<string, SuperSeeder>();
  private readonly ctx: PeerApiContext & WireContext;
  private readonly tcp: net.Server;
  private readonly choker: Choker;
  /**
   * Slots are taken at accept time: a socket holds an HTTP slot until its first byte says
   * BitTorrent (byte 19), then a wire slot, handshake included. So connections that never send
   * anything, or never finish a handshake, count against their address like any other.
   */
  private readonly httpSlots: SlotPool;
  private readonly wireSlots: SlotPool;
  /** Every download on this node listens (each filters by info_hash). */
  private readonly wireListeners = new Set<(c: WireConnection) => void>();
  private readonly seenListeners = new Set<(infoHashHex: string, ip: string, port: number) => void>();
  /** Every socket not yet handed to HTTP or the wire protocol (closed at once by close()). */
  private readonly sniffing = new Set<net.Socket>();

  readonly peerId: Buffer;
  private readonly encryption: EncryptionPolicy;
  private readonly transport: TransportChoice;
  utp: UtpEndpoint | undefined; // public: the DHT shares its UDP socket (src/dht/peer-dht.ts)
  /** With the DHT on (set by Seeding): the DHT bit in our handshakes, `port` messages both ways. */
  dht: { link: DhtLink; reserved: Buffer } | undefined;
  private readonly maxConnections: number;

  constructor(opts: PeerNodeOptions = {}) {
    this.peerId = opts.peerId ?? newPeerId();
    this.encryption = opts.encryption ?? 'allow';
    this.transport = opts.transport ?? 'both';
    const max = (this.maxConnections = opts.maxConnections ?? PEER_DEFAULTS.maxConnections);
    const perIp = opts.maxConnectionsPerIp ?? PEER_DEFAULTS.maxConnectionsPerIp;
    this.httpSlots = new SlotPool(max, perIp);
    this.wireSlots = new SlotPool(max, Math.ceil(perIp / 2));
    const sendTimeoutMs = opts.sendTimeoutMs ?? PEER_DEFAULTS.sendTimeoutMs;
    this.ctx = {
      stats: this.stats,
      torrents: this.torrents,
      counter: this.counter,
      limiter: opts.maxUploadRate ? new RateLimiter(opts.maxUploadRate) : undefined,
      chunks: new ChunkPool(),
      http: { sendTimeoutMs, maxPipeline: MAX_PIPELINE },
      idleTimeoutMs: opts.idleTimeoutMs ?? PEER_DEFAULTS.idleTimeoutMs,
      sendTimeoutMs,
      listenPort: () => this.port,
    };
    this.http = createPeerServer(this.ctx);
    this.tcp = net.createServer((socket) => this.accept(socket));
    serveHandedOver(this.tcp, this.http);
    this.choker = new Choker(() => this.wires);
  }

  share(t: SharedTorrent): void {
    this.torrents.set(t.meta.infoHashHex, t);
    if (t.superSeeding) this.superSeeders.set(t.meta.infoHashHex, new SuperSeeder(t));
  }

  /** Be told of downloading peers that announced the port they serve on. */
  onPeerSeen(f: (infoHashHex: string, ip: string, port: number) => void): void {
    this.seenListeners.add(f);
    this.ctx.onPeerSeen ??= (hash, ip, port) => this.seenListeners.forEach((l) => l(hash, ip, port));
  }

  /** Be told of every incoming wire connection once its handshake is done. */
  onWire(f: (c: WireConnection) => void): void {
    this.wireListeners.add(f);
  }

  /** Is a wire connection to exactly this address and port up (one we dialled)? */
  hasWireTo(ip: string, port: number): boolean {
    for (const c of this.wires) if (c.socket.remoteAddress === ip && c.socket.remotePort === port && !c.closed) return true;
    return false;
  }

  /** We verified a piece: tell every wire peer of that torrent; once complete, we only upload (BEP 21). */
  pieceVerified(infoHashHex: string, index: number): void {
    for (const c of this.wires) {
      if (c.torrent.meta.infoHashHex !== infoHashHex) continue;
      c.have(index);
      if (!c.torrent.have.complete) continue;
      c.ext.tellUploadOnly();
      this.dropIfBothSeeds(c);
    }
  }

  /** Two peers that only upload have nothing to trade: close (as libtorrent does). */
  private dropIfBothSeeds(c: WireConnection): void {
    if (c.torrent.have.complete && (c.pieces.seed || c.ext.uploadOnly)) c.close('both sides only upload', true);
  }

  /** Listen on TCP, and on UDP for uTP at the same port number (unless `--transport tcp`). */
  async listen(port: number, host: string): Promise<void> {
    await listen(this.tcp, port, host);
    if (this.transport === 'tcp') return;
    try {
      this.utp = await UtpEndpoint.bind(this.port, host, { maxConnections: this.maxConnections });
    } catch (e) {
      // A taken UDP port costs only uTP, unless uTP is all that was asked for.
      if (this.transport === 'utp') throw new Error(`cannot listen for uTP on UDP port ${this.port}: ${(e as Error).message}`, { cause: e });
      return;
    }
    this.utp.on('connection', (s: UtpSocket) => this.acceptUtp(s));
    this.utp.on('warning', () => {}); // a UDP error concerns one datagram
  }

  /**
   * An incoming uTP connection: BitTorrent or MSE (no HTTP over uTP). A SYN is one datagram from
   * an address anyone can forge: the connection takes a wire slot only once it sent data, within
   * UTP_FIRST_BYTE_MS (a real client sends its handshake right after our answer).
   */
  private acceptUtp(s: UtpSocket): void {
    s.on('error', () => s.destroy());
    const key = addressPrefix(s.remoteAddress);
    sniffOpening(s, UTP_FIRST_BYTE_MS, HANDSHAKE_TIMEOUT_MS).then(({ kind, first, firstByteAt }) => {
      if (kind === 'http' || !this.wireSlots.take(key)) return void s.destroy();
      s.once('close', () => this.wireSlots.release(key));
      void this.acceptWire(s, first, kind, firstByteAt);
    }, () => s.destroy());
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return (this.tcp.address() as net.AddressInfo).port;
  }

  /** Connections in use: HTTP (and sockets not yet sniffed) and wire (handshakes included). */
  get connections(): { http: number; wire: number } {
    return { http: this.httpSlots.used, wire: this.wireSlots.used };
  }

  /** Dial a peer over the wire protocol for one of our torrents (TCP then uTP, plain and/or MSE: see wire/dial.ts). */
  async dial(ip: string, port: number, infoHashHex: string, signal?: AbortSignal): Promise<WireConnection> {
    const t = this.torrents.get(infoHashHex);
    if (!t) throw new Error(`not sharing ${infoHashHex}`);
    const key = addressPrefix(ip);
    if (!this.wireSlots.take(key)) throw new Error('too many connections');
    let opened: OpenedWire;
    try {
      opened = await openWire(ip, port, t.meta.infoHash, this.peerId, { encryption: this.encryption, transport: this.transport, utp: this.utp, signal, reserved: this.dht?.reserved });
    } catch (e) {
      this.wireSlots.release(key);
      throw e;
    }
    const { socket, hs, rest } = opened;
    if (socket.destroyed) this.wireSlots.release(key);
    else socket.once('close', () => this.wireSlots.release(key));
    return this.adopt(socket, t, hs, rest, false);
  }

  /** A new TCP socket: counted against its address at once, then sniffed: HTTP, BitTorrent or MSE. */
  private accept(socket: net.Socket): void {
    socket.on('error', () => socket.destroy());
    const key = addressPrefix(socket.remoteAddress);
    if (!this.httpSlots.take(key)) {
      // Over the cap: a quick answer an HTTP client understands (a BitTorrent one just fails).
      socket.end(BUSY);
      socket.setTimeout(1000, () => socket.destroy());
      return;
    }
    let slots: SlotPool | undefined = this.httpSlots;
    socket.once('close', () => slots?.release(key));
    this.sniffing.add(socket);
    socket.once('close', () => this.sniffing.delete(socket));
    // BitTorrent, plain or encrypted, moves to a wire slot (or is dropped unanswered).
    const toWire = () => {
      if (slots !== this.httpSlots) return slots !== undefined;
      this.httpSlots.release(key);
      slots = this.wireSlots.take(key) ? this.wireSlots : undefined;
      return slots !== undefined;
    };
    const notHttp = () => void (toWire() || socket.destroy());
    sniffOpening(socket, SNIFF_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS, notHttp).then(
      ({ kind, first, firstByteAt }) => {
        if (kind === 'http') {
          this.sniffing.delete(socket); // its server owns it now
          socket.unshift(first);
          this.http.emit('connection', socket);
          socket.resume();
          return;
        }
        if (toWire()) void this.acceptWire(socket, first, kind, firstByteAt);
        else socket.destroy();
      },
      () => socket.destroy(),
    );
  }

  /** MSE (if any) and the handshake, all within one deadline from the connection's first byte. */
  private async acceptWire(socket: PeerSocket, first: Buffer, kind: 'bittorrent' | 'mse', firstByteAt: number): Promise<void> {
    const deadline = setTimeout(() => socket.destroy(), Math.max(0, firstByteAt + HANDSHAKE_TIMEOUT_MS - performance.now()));
    try {
      const a = await acceptWire(socket, first, kind, { torrents: this.torrents, peerId: this.peerId, encryption: this.encryption, reserved: this.dht?.reserved });
      this.sniffing.delete(socket as net.Socket);
      this.adopt(a.socket, a.torrent, a.hs, a.rest, true);
    } catch {
      socket.destroy();
    } finally {
      clearTimeout(deadline);
    }
  }

  private adopt(socket: PeerSocket, t: SharedTorrent, hs: Handshake, rest: Buffer, incoming: boolean): WireConnection {
    const counter = this.stats.get(t.meta.infoHashHex)?.upload ?? this.counter; // counts for the torrent and the process
    const c = new WireConnection({ socket, torrent: t, peerId: hs.peerId, reserved: hs.reserved, leftover: rest }, { ...this.ctx, counter });
    this.wires.add(c);
    c.on('interested', () => this.choker.fill());
    for (const e of ['bitfield', 'have', 'upload-only']) c.on(e, () => this.dropIfBothSeeds(c));
    c.on('close', () => {
      this.wires.delete(c);
      this.choker.fill();
    });
    this.superSeeders.get(t.meta.infoHashHex)?.attach(c);
    this.pex.attach(c, incoming);
    if (this.dht) exchangePorts(c, hs.reserved, this.dht.link);
    c.start(); // our bitfield goes first, before anything the owner sends
    if (incoming) this.wireListeners.forEach((l) => l(c));
    return c;
  }

  close(): Promise<void> {
    this.choker.stop();
    this.stats.stop();
    this.pex.stop();
    for (const s of this.superSeeders.values()) s.stop();
    for (const c of this.wires) c.close('shutting down');
    for (const s of this.sniffing) s.destroy();
    const tcpClosed = new Promise<void>((resolve) => {
      this.tcp.close(() => resolve());
      this.http.closeAllConnections();
    });
    return Promise.all([tcpClosed, this.utp?.close()]).then(() => undefined);
  }
}
