/** The HTTP scrape (BEP 48): raw query -> info_hashes; entries -> the bencoded answer. Pure. */
import { encodeBinaryKeyDict } from '../../metainfo/bencode.ts';
import { DEFAULT_LIMITS, queryParams, TrackerRequestError, type TrackerLimits } from './query.ts';

export interface ScrapeEntry {
  infoHash: Buffer;
  complete: number;
  incomplete: number;
  downloaded: number;
}

/** Parse a scrape: zero or more `info_hash`, each exactly 20 bytes, at most the cap. */
export function parseScrape(rawQuery: string, limits: TrackerLimits = DEFAULT_LIMITS): Buffer[] {
  // Room for the allowed info_hashes plus a few other parameters (passkeys and the like).
  const params = queryParams(rawQuery, limits.maxScrapeQuery, limits.maxScrapeHashes + limits.maxParams);
  const hashes = params.get('info_hash') ?? [];
  if (hashes.length > limits.maxScrapeHashes) throw new TrackerRequestError(`at most ${limits.maxScrapeHashes} info_hash per scrape`);
  for (const h of hashes) if (h.length !== 20) throw new TrackerRequestError(`info_hash must be 20 bytes, got ${h.length}`);
  return hashes.map((h) => Buffer.from(h));
}

export function encodeScrapeResponse(entries: ScrapeEntry[]): Buffer {
  const files = encodeBinaryKeyDict(
    entries.map((e) => [e.infoHash, { complete: e.complete, downloaded: e.downloaded, incomplete: e.incomplete }]),
  );
  return Buffer.concat([Buffer.from('d5:files'), files, Buffer.from('e')]);
}
