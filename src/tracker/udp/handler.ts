/**
 * The UDP front end's request handler (BEP 15): one datagram and its sender -> the answer, or
 * null to drop it. No socket here (server.ts has it): the same service as HTTP does the work.
 *
 * Amplification: until a client shows a valid connection id (which proves that it receives at
 * its address), no answer is longer than the datagram that asked: a connect (16 bytes) gets 16,
 * anything with a bad id an error packet cut to the request's size, junk nothing at all.
 */
import { formatIPv4, ipAddress, type IpAddress } from '../../bittorrent/address.ts';
import { TrackerRequestError } from '../protocol/query.ts';
import type { AnnounceRequest } from '../protocol/announce.ts';
import type { ScrapeEntry } from '../protocol/scrape.ts';
import type { TrackerService } from '../service.ts';
import type { RequestKind } from '../metrics/stats.ts';
import { ConnectionIds } from './connection-id.ts';
import {
  connectionIdOf, encodeAnnounce, encodeConnect, encodeError, encodeScrape, parseAnnounce, parseScrape, readHeader, type UdpAnnounce,
} from './packets.ts';

/**
 * Most peers in one answer: the HTTP cap (200, opentracker's), lowered to what fits in one
 * unfragmented datagram on a 1500-byte Ethernet path (fragments are often dropped by NATs and
 * firewalls): (1500 - 40 IPv6 header - 8 UDP - 20 answer header) / 18 = 79 IPv6 peers, and
 * (1500 - 40 - 8 - 20) / 6 = 238 IPv4 peers even when they go out over IPv6.
 */
export const MAX_PEERS_V4 = 200;
export const MAX_PEERS_V6 = 79;

const BAD_ID = 'bad connection id';

export class UdpTrackerHandler {
  /** Kinds of internal error already logged: one line each, not one per packet of a flood. */
  private readonly logged = new Set<string>();

  /** @param socketFamily 6 for an IPv6 socket: its IPv6 clients get 18-byte peers (BEP 15) */
  constructor(
    private readonly service: TrackerService,
    private readonly ids: ConnectionIds,
    private readonly socketFamily: 4 | 6,
  ) {}

  /** The answer to `msg` from `address`:`port` (as the socket reports them), or null: drop it. */
  handle(msg: Buffer, address: string, port: number): Buffer | Promise<Buffer> | null {
    const started = performance.now();
    const stats = this.service.stats;
    const head = readHeader(msg);
    if (head === null) {
      stats.failed('bad_request');
      return null;
    }
    const { action, transactionId } = head;
    if (action === 'connect') {
      stats.answered('udp', 'connect', true);
      return encodeConnect(transactionId, this.ids.mint(address, port, Date.now()));
    }
    if (!this.ids.verify(connectionIdOf(msg), address, port, Date.now())) {
      stats.answered('udp', action, false, seconds(started));
      stats.failed('bad_connection_id');
      return encodeError(transactionId, BAD_ID, msg.length);
    }
    try {
      return action === 'announce' ? this.announce(msg, address, transactionId, started) : this.scrape(msg, transactionId, started);
    } catch (e) {
      return this.failure(action, transactionId, e, started);
    }
  }

  private announce(msg: Buffer, address: string, transactionId: number, started: number): Buffer | Promise<Buffer> {
    const packet = parseAnnounce(msg);
    const source = this.source(address);
    // 6-byte peers for IPv4 senders (plain, or mapped on a dual-stack socket), 18 for IPv6 ones.
    const size = source.family === 6 ? 18 : 6;
    const req = this.announceRequest(packet, source, size);
    const answer = this.service.announce(req);
    const interval = this.service.config.interval;
    const encode = (a: Awaited<typeof answer>) => {
      const peers = size === 6 ? a.peers.v4.subarray(0, MAX_PEERS_V4 * 6) : a.peers.v6.subarray(0, MAX_PEERS_V6 * 18);
      return this.success('announce', encodeAnnounce(transactionId, interval, a.incomplete, a.complete, peers), started);
    };
    if (!(answer instanceof Promise)) return encode(answer);
    return answer.then(encode, (e: unknown) => this.failure('announce', transactionId, e, started));
  }

  /**
   * The service's AnnounceRequest: the sender's address (the packet's IPv4 field only with
   * --trust-ip-param and an IPv4 sender, as the HTTP `ip` parameter), compact with no peer ids
   * (BEP 15 answers are compact), numwant capped; the key is unused (peers are keyed by address
   * and port, so another client cannot take a peer over by guessing its key anyway).
   */
  private announceRequest(p: UdpAnnounce, source: IpAddress, size: 6 | 18): AnnounceRequest {
    const limits = this.service.config.limits;
    const useIpField = this.service.config.trustIpParam && p.ipField !== 0 && size === 6;
    const { ip, family } = useIpField ? { ip: ipv4Text(p.ipField), family: 4 as const } : source;
    const cap = Math.min(limits.maxNumwant, size === 6 ? MAX_PEERS_V4 : MAX_PEERS_V6);
    const numwant = Math.min(p.numwant < 0 ? limits.defaultNumwant : p.numwant, cap);
    return {
      infoHash: p.infoHash,
      peerId: p.peerId,
      ip,
      family,
      port: p.port,
      uploaded: Math.max(0, p.uploaded),
      downloaded: Math.max(0, p.downloaded),
      // A negative `left` (some clients' "unknown", before they have the metadata) is a leecher.
      left: p.left < 0 ? 1 : p.left,
      event: p.event,
      numwant,
      compact: true,
      noPeerId: true,
    };
  }

  /**
   * The sender's address as the kernel wrote it: a dotted quad on an IPv4 socket; on an IPv6 one
   * an IPv6 address, or `::ffff:` and a dotted quad for an IPv4 client (stored as that IPv4).
   */
  private source(address: string): IpAddress {
    if (this.socketFamily === 4) return { ip: address, family: 4 };
    if (address.startsWith('::ffff:') && address.includes('.')) return { ip: address.slice(7), family: 4 };
    const a = ipAddress(address);
    if (a === null) throw new TrackerRequestError('remote address is not an IP address');
    return a;
  }

  private scrape(msg: Buffer, transactionId: number, started: number): Promise<Buffer> {
    const hashes = parseScrape(msg);
    return this.service.scrape(hashes).then(
      (entries) => this.success('scrape', encodeScrape(transactionId, inOrder(hashes, entries)), started),
      (e: unknown) => this.failure('scrape', transactionId, e, started),
    );
  }

  private success(kind: RequestKind, answer: Buffer, started: number): Buffer {
    this.service.stats.answered('udp', kind, true, seconds(started));
    return answer;
  }

  /**
   * A refusal becomes an error packet with its message; anything else is a bug: a generic error
   * packet, and one log line per kind of error (never a crash, never a log flood).
   */
  private failure(kind: RequestKind, transactionId: number, e: unknown, started: number): Buffer {
    const stats = this.service.stats;
    stats.answered('udp', kind, false, seconds(started));
    if (e instanceof TrackerRequestError) {
      stats.failed(e.reason);
      return encodeError(transactionId, e.message, Infinity);
    }
    stats.failed('internal');
    const label = `${kind}: ${e instanceof Error ? e.name : typeof e}`;
    if (!this.logged.has(label)) {
      this.logged.add(label);
      console.error(`udp tracker: internal error in ${label} (logged once):`, e);
    }
    return encodeError(transactionId, 'internal error', Infinity);
  }
}

/**
 * The store's entries back in the order asked, one per hash (a hash asked twice is answered
 * twice; one left out, as outside the whitelist, is all zeros): BEP 15 answers by position.
 */
function inOrder(hashes: Buffer[], entries: ScrapeEntry[]): ScrapeEntry[] {
  const byHash = new Map(entries.map((e) => [e.infoHash.toString('latin1'), e]));
  return hashes.map((h) => byHash.get(h.toString('latin1')) ?? { infoHash: h, complete: 0, incomplete: 0, downloaded: 0 });
}

function ipv4Text(n: number): string {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return formatIPv4(b);
}

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}
