/**
 * What a dashboard needs of one torrent that nothing else keeps: bytes uploaded for it (counted
 * as they are sent, through a forwarding counter), pieces verified and failed, hash failures by
 * peer, the HTTP clients fetching from us, and a rate history. Plain numbers updated where bytes
 * move; nothing here is computed until someone asks (see peer-stats.ts for the 1 s sample).
 */
import type { UploadCounter } from '../shared-torrent.ts';
import { RateHistory } from './rate-history.ts';

/** One source of the download, as the downloader reports it (see Downloader.sourceReports). */
export interface SourceReport {
  /** `http://ip:port` (our HTTP API), `wire:<peer_id hex>`, `webseed:<url>`. */
  id: string;
  label: string;
  address: string;
  /** Verified pieces it supplied. */
  pieces: number;
  /** Bytes of blocks received from it, verified or not. */
  received: number;
  /** Still in use (not dropped). */
  live: boolean;
}

/** What the dashboard reads of a download under way (the Downloader). */
export interface DownloadProbe {
  readonly bytesLeft: number;
  /** Pieces being fetched now (a few: bounded by the downloader's memory budget). */
  inFlightPieces(): Iterable<number>;
  sourceReports(): SourceReport[];
}

/** An HTTP client of our piece API or web seed, keyed by address (and listen port when it tells). */
export interface HttpClientRecord extends HttpClient {
  key: string;
  uploaded: number;
  lastAt: number;
}

/** Who fetched: its address, the port it serves on if it said (ours do), through our web seed URL or our piece API. */
export interface HttpClient {
  address: string;
  port: number | undefined;
  webSeed: boolean;
}

/** Distinct HTTP clients and failing peers remembered per torrent: the rest fold into the oldest / `other`. */
export const MAX_HTTP_CLIENTS = 256;
export const MAX_FAILING_PEERS = 100;

/** A counter that also adds what it counts to `parent` (and tells `also`): one increment, two totals. */
export class ForwardingCounter implements UploadCounter {
  private total = 0;

  constructor(
    private readonly parent: UploadCounter,
    private readonly also?: (bytes: number) => void,
  ) {}

  get uploaded(): number {
    return this.total;
  }

  set uploaded(value: number) {
    const delta = value - this.total;
    this.total = value;
    this.parent.uploaded += delta;
    this.also?.(delta);
  }
}

export class TorrentStats {
  readonly history = new RateHistory();
  /** Every byte of this torrent's content we sent (wire and HTTP); forwards to the process's counter. */
  readonly upload: ForwardingCounter;
  piecesVerified = 0;
  piecesFailed = 0;
  /** Pieces that failed their hash, by the address of the peer that sent them. */
  readonly hashFailures = new Map<string, number>();
  private readonly httpClients = new Map<string, HttpClientRecord>();
  /** The download, while this peer downloads (or did: its sources' totals stay readable). */
  download: DownloadProbe | undefined;
  /** Last time a page or script asked for this torrent's details: per-peer rates are sampled only then. */
  viewedAt = 0;

  constructor(processCounter: UploadCounter) {
    this.upload = new ForwardingCounter(processCounter);
  }

  /** Bytes received from every source so far (0 for a peer that never downloaded). */
  get downloaded(): number {
    let n = 0;
    for (const s of this.download?.sourceReports() ?? []) n += s.received;
    return n;
  }

  pieceVerified(): void {
    this.piecesVerified++;
  }

  /** A piece failed its hash; `addresses` sent it. */
  pieceFailed(addresses: string[]): void {
    this.piecesFailed++;
    for (const a of addresses) {
      const key = this.hashFailures.has(a) || this.hashFailures.size < MAX_FAILING_PEERS ? a : 'other';
      this.hashFailures.set(key, (this.hashFailures.get(key) ?? 0) + 1);
    }
  }

  /** The counter for one HTTP answer to `who`. */
  httpUpload(who: HttpClient, now = Date.now()): UploadCounter {
    const key = `${who.address}|${who.port ?? ''}|${who.webSeed ? 'webseed' : 'api'}`;
    let c = this.httpClients.get(key);
    if (!c) {
      if (this.httpClients.size >= MAX_HTTP_CLIENTS) this.forgetOldestClient();
      c = { ...who, key, uploaded: 0, lastAt: now };
      this.httpClients.set(key, c);
    }
    const client = c;
    client.lastAt = now;
    return new ForwardingCounter(this.upload, (bytes) => {
      client.uploaded += bytes;
      client.lastAt = Date.now();
    });
  }

  /** HTTP clients that fetched something within `withinMs`. */
  activeHttpClients(now: number, withinMs: number): HttpClientRecord[] {
    return [...this.httpClients.values()].filter((c) => now - c.lastAt <= withinMs);
  }

  private forgetOldestClient(): void {
    let oldest: HttpClientRecord | undefined;
    for (const c of this.httpClients.values()) if (!oldest || c.lastAt < oldest.lastAt) oldest = c;
    if (oldest) this.httpClients.delete(oldest.key);
  }
}
