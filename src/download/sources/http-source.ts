/**
 * A peer reached through our HTTP piece API (`/bitfield`, `/piece` with Range). Both go through
 * one PieceClient: one pool of connections per peer, each answer read to its exact length.
 */
import { Bitfield } from '../../bittorrent/bitfield.ts';
import type { PieceSource } from '../source.ts';
import { PieceClient, PieceClientError } from '../../net/piece-client.ts';
import { defaultDeadlineMs } from '../../net/http-client.ts';
import { LISTEN_PORT_HEADER } from '../../peer/http-api.ts';
import { hostPort, normalizeAddress, urlHost } from '../../bittorrent/address.ts';

export interface HttpSourceOptions {
  /** Per-request timeout: a peer that stalls longer loses the request (the piece goes to others). */
  timeoutMs: number;
  /** The port we serve on, told to the peer so that it can fetch from us too. */
  listenPort?: number;
  /** Ask for the bitfield again at most this often. */
  refreshMs: number;
  /** The torrent's piece length: sets how many pieces are asked for at once. */
  pieceLength?: number;
}

/** About this many bytes of pieces in flight per HTTP peer: 8 x 1 MiB, 4 x 2 MiB, 2 x 4 MiB ... */
const BYTES_IN_FLIGHT = 8 * 1024 * 1024;
/** Largest body asked for in one request (the peer answers up to 4 MiB with one read and one write). */
const MAX_REQUEST = 4 * 1024 * 1024;
/**
 * Each piece request has a total deadline: the silence timeout plus its length at this rate
 * (16 KiB/s, the downloader's minimum fetch rate), so a peer that trickles a byte now and then
 * to keep the silence timer from firing still loses the request.
 */
const DEADLINE_RATE = 16 * 1024;

export class HttpPeerSource implements PieceSource {
  readonly id: string;
  readonly label: string;
  readonly address: string;
  readonly maxBlock: number;
  readonly maxInFlight: number;
  private bitfield: Bitfield | undefined;
  private lastRefresh = 0;
  private refreshing = false;
  private readonly closed = new AbortController();
  /**
   * This peer's connections (a slow peer holds only its own), for its bitfield and its pieces:
   * bodies are read from the socket straight into the piece's buffer.
   */
  private readonly pieces: PieceClient;

  constructor(
    ip: string,
    port: number,
    private readonly infoHashHex: string,
    private readonly pieceCount: number,
    private readonly opts: HttpSourceOptions = { timeoutMs: 20_000, refreshMs: 1000 },
  ) {
    // Enough requests to keep a loopback link busy, without holding more big pieces than needed.
    this.maxInFlight = Math.max(2, Math.min(8, Math.floor(BYTES_IN_FLIGHT / (opts.pieceLength ?? 1024 * 1024))));
    // Whole pieces in one request where the peer serves them in one write.
    this.maxBlock = Math.max(1024 * 1024, Math.min(MAX_REQUEST, opts.pieceLength ?? 0));
    this.pieces = new PieceClient(ip, port);
    this.label = hostPort(ip, port);
    this.id = HttpPeerSource.idFor(ip, port);
    this.address = normalizeAddress(ip);
  }

  static idFor(ip: string, port: number): string {
    return `http://${urlHost(ip)}:${port}`;
  }

  async connect(signal: AbortSignal): Promise<void> {
    await this.fetchBitfield(signal);
  }

  private async fetchBitfield(signal: AbortSignal): Promise<void> {
    this.lastRefresh = Date.now();
    const headers: Record<string, string> = {};
    if (this.opts.listenPort) headers[LISTEN_PORT_HEADER] = String(this.opts.listenPort);
    const body = Buffer.alloc(Math.ceil(this.pieceCount / 8));
    try {
      await this.pieces.getInto(`/bitfield/${this.infoHashHex}`, body, {
        headers,
        okStatus: [200],
        timeoutMs: this.opts.timeoutMs,
        deadlineMs: defaultDeadlineMs(this.opts.timeoutMs, body.length),
        signal,
      });
    } catch (e) {
      if (e instanceof PieceClientError && e.status !== undefined) throw new Error(`peer ${this.label} answered HTTP ${e.status} for its bitfield`);
      throw e;
    }
    this.bitfield = new Bitfield(this.pieceCount, body);
  }

  has(piece: number): boolean {
    // A peer that is itself downloading gains pieces: keep its bitfield fresh (in the background,
    // at most every refreshMs) so that rarest-first sees what the swarm really holds.
    if (this.bitfield && !this.bitfield.complete && !this.refreshing && Date.now() - this.lastRefresh >= this.opts.refreshMs) {
      this.refreshing = true;
      this.fetchBitfield(this.closed.signal)
        .catch(() => {}) // a failing peer shows up in its piece requests
        .finally(() => (this.refreshing = false));
    }
    return this.bitfield?.has(piece) ?? false;
  }

  async refresh(signal: AbortSignal): Promise<void> {
    if (this.bitfield?.complete || Date.now() - this.lastRefresh < this.opts.refreshMs) return;
    await this.fetchBitfield(signal);
  }

  async fetchBlockInto(piece: number, begin: number, into: Buffer, signal: AbortSignal, onData?: (offset: number, length: number) => void): Promise<void> {
    const length = into.length;
    try {
      await this.pieces.getInto(`/piece/${this.infoHashHex}/${piece}`, into, {
        // Our listen port with every request, so the peer's dashboard can tell its HTTP clients apart.
        headers: { Range: `bytes=${begin}-${begin + length - 1}`, ...(this.opts.listenPort ? { [LISTEN_PORT_HEADER]: String(this.opts.listenPort) } : {}) },
        okStatus: begin === 0 ? [200, 206] : [206],
        timeoutMs: this.opts.timeoutMs,
        deadlineMs: this.opts.timeoutMs + Math.ceil((length * 1000) / DEADLINE_RATE),
        signal,
        onData,
      });
    } catch (e) {
      if (e instanceof PieceClientError) {
        if (e.status === 404) throw new Error(`peer ${this.label} does not have piece ${piece}`);
        if (e.status !== undefined) throw new Error(`peer ${this.label} answered HTTP ${e.status}`);
        throw new Error(`peer ${this.label}: ${e.message}`);
      }
      throw e;
    }
  }

  close(): void {
    this.closed.abort();
    this.pieces.close();
  }
}
