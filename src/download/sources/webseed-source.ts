/**
 * A BEP 19 web seed: any HTTP server holding the torrent's files. A URL ending in `/` gets the
 * torrent name appended (single file) or `name/path...` (multi-file), each element
 * percent-escaped; a URL without `/` at the end is the file itself (single-file torrents only).
 * A piece that spans files is fetched as one `Range` request per file.
 */
import type { PieceSource } from '../source.ts';
import type { Metainfo } from '../../metainfo/metainfo.ts';
import { spansOf, type StorageFile } from '../../storage/layout.ts';
import { httpGetRange } from '../../net/http-client.ts';
import { normalizeAddress } from '../../bittorrent/address.ts';

/** The URL of each file of `meta` on the web seed `base`; null for pad files. Pure. */
export function webSeedFileUrls(base: string, meta: Pick<Metainfo, 'name' | 'files' | 'multiFile'>): (string | null)[] {
  const esc = (parts: string[]) => parts.map(encodeURIComponent).join('/');
  if (!meta.multiFile) return [base.endsWith('/') ? base + esc([meta.name]) : base];
  const dir = base.endsWith('/') ? base : base + '/';
  return meta.files.map((f) => (f.pad ? null : dir + esc([meta.name, ...f.path])));
}

export class WebSeedSource implements PieceSource {
  readonly id: string;
  readonly label: string;
  /** The server's host: a web seed that sends bad data is banned by it like a peer. */
  readonly address: string;
  readonly maxBlock: number;
  readonly maxInFlight = 2;
  private readonly urls: (string | null)[];
  private readonly files: StorageFile[];
  /** Aborted by close(): every request in flight ends with it. */
  private readonly closed = new AbortController();

  constructor(
    base: string,
    private readonly meta: Metainfo,
    private readonly timeoutMs: number,
  ) {
    this.id = `webseed:${base}`;
    this.label = `web seed ${base}`;
    this.address = normalizeAddress(URL.canParse(base) ? new URL(base).hostname : base);
    this.urls = webSeedFileUrls(base, meta);
    this.files = meta.files.map((f) => ({ path: f.pad ? null : f.path.join('/'), length: f.length, offset: f.offset }));
    // Whole pieces up to 1 MiB per request: few requests, bounded memory, and the downloader
    // sees progress (for its minimum rate) at least every MiB.
    this.maxBlock = Math.min(meta.pieceLength, 1024 * 1024);
  }

  async connect(): Promise<void> {
    if (this.urls.every((u) => u === null)) throw new Error('no file to fetch');
  }

  has(): boolean {
    return true;
  }

  /** One `Range` request per file the block spans, each read into its part of `into`. */
  async fetchBlockInto(piece: number, begin: number, into: Buffer, signal: AbortSignal, onData?: (offset: number, length: number) => void): Promise<void> {
    const offset = piece * this.meta.pieceLength + begin;
    const both = AbortSignal.any([signal, this.closed.signal]);
    let at = 0;
    for (const s of spansOf(this.files, offset, into.length)) {
      const url = this.urls[s.file];
      const part = into.subarray(at, at + s.length);
      if (url === null || url === undefined) part.fill(0); // pad file: zeros
      else await httpGetRange(url, s.fileOffset, s.length, { timeoutMs: this.timeoutMs, signal: both }, part);
      onData?.(at, s.length);
      at += s.length;
    }
  }

  close(): void {
    this.closed.abort(new Error(`${this.label} closed`));
  }
}
