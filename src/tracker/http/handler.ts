/**
 * The HTTP front end's one announce handler and one scrape handler, for the fast path and the
 * Node fallback alike: raw query and connection -> bencoded body. Parses (protocol/), calls the
 * service, encodes; a refused request becomes a bencoded `failure reason`.
 */
import { ipAddress, type IpAddress } from '../../bittorrent/address.ts';
import { TrackerRequestError } from '../protocol/query.ts';
import { parseAnnounce, type AnnounceSource } from '../protocol/announce.ts';
import { encodeAnnounceResponse, failureResponse } from '../protocol/answer.ts';
import { encodeScrapeResponse, parseScrape } from '../protocol/scrape.ts';
import type { TrackerService } from '../service.ts';
import type { RequestKind, TrackerStats } from '../metrics/stats.ts';

/**
 * A refused request becomes its bencoded `failure reason`, counted with its reason; anything else
 * is a bug, counted as `internal` and rethrown (the server answers 500).
 */
function failure(stats: TrackerStats, kind: RequestKind, e: unknown, started: number): Buffer {
  stats.answered('http', kind, false, (performance.now() - started) / 1000);
  if (e instanceof TrackerRequestError) {
    stats.failed(e.reason);
    return failureResponse(e.message);
  }
  stats.failed('internal');
  throw e;
}

function success(stats: TrackerStats, kind: RequestKind, body: Buffer, started: number): Buffer {
  stats.answered('http', kind, true, (performance.now() - started) / 1000);
  return body;
}

export class HttpTrackerHandler {
  /** The last address normalised, and the result: every announce on a connection brings the same. */
  private lastAddress: string | undefined;
  private lastSource: IpAddress | null = null;

  constructor(private readonly service: TrackerService) {}

  /**
   * @param connectionAddress the socket's remote address
   * @param forwardedFor the `X-Forwarded-For` header, believed only from trusted proxies
   */
  announce(rawQuery: string, connectionAddress: string | undefined, forwardedFor: string | string[] | undefined): Buffer | Promise<Buffer> {
    const started = performance.now();
    const { config, stats } = this.service;
    let req;
    let answer;
    try {
      req = parseAnnounce(rawQuery, this.source(connectionAddress, forwardedFor), config.limits, config);
      answer = this.service.announce(req);
    } catch (e) {
      return failure(stats, 'announce', e, started);
    }
    if (!(answer instanceof Promise)) return success(stats, 'announce', encodeAnnounceResponse(answer, req), started);
    return answer.then(
      (a) => success(stats, 'announce', encodeAnnounceResponse(a, req), started),
      (e: unknown) => failure(stats, 'announce', e, started),
    );
  }

  scrape(rawQuery: string): Buffer | Promise<Buffer> {
    const started = performance.now();
    const { stats } = this.service;
    let hashes;
    try {
      hashes = parseScrape(rawQuery, this.service.config.limits);
    } catch (e) {
      return failure(stats, 'scrape', e, started);
    }
    // BEP 48 without an info_hash: a full scrape, a page of the busiest swarms (service.fullScrape).
    const entries = hashes.length > 0 ? this.service.scrape(hashes) : this.service.fullScrape(fullScrapePage(rawQuery));
    return entries.then(
      (entries) => success(stats, 'scrape', encodeScrapeResponse(entries), started),
      (e: unknown) => failure(stats, 'scrape', e, started),
    );
  }

  /** The announcer's address, normalised once per address (the parser words a bad one's error). */
  private source(connectionAddress: string | undefined, forwardedFor: string | string[] | undefined): AnnounceSource {
    const address = forwardedFor === undefined ? connectionAddress : this.service.clientAddress(connectionAddress, forwardedFor);
    if (address !== undefined && address === this.lastAddress) return this.lastSource!;
    const a = ipAddress(address);
    if (a === null) return address;
    this.lastAddress = address;
    this.lastSource = a;
    return a;
  }
}

/** `page=N` of a full scrape (1 when absent or not a small number). */
function fullScrapePage(rawQuery: string): number {
  const m = /(?:^|&)page=(\d{1,9})(?:&|$)/.exec(rawQuery);
  return m ? Number(m[1]) : 1;
}
