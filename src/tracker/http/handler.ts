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

/** A refused request becomes its bencoded `failure reason`; anything else is a bug and is rethrown. */
function asFailure(e: unknown): Buffer {
  if (e instanceof TrackerRequestError) return failureResponse(e.message);
  throw e;
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
    const { config } = this.service;
    let req;
    try {
      req = parseAnnounce(rawQuery, this.source(connectionAddress, forwardedFor), config.limits, config);
    } catch (e) {
      return asFailure(e);
    }
    let answer;
    try {
      answer = this.service.announce(req);
    } catch (e) {
      return asFailure(e);
    }
    return answer instanceof Promise ? answer.then((a) => encodeAnnounceResponse(a, req), asFailure) : encodeAnnounceResponse(answer, req);
  }

  scrape(rawQuery: string): Buffer | Promise<Buffer> {
    let hashes;
    try {
      hashes = parseScrape(rawQuery, this.service.config.limits);
    } catch (e) {
      return asFailure(e);
    }
    return this.service.scrape(hashes).then(encodeScrapeResponse);
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
