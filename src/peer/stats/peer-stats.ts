/**
 * A peer process's dashboard numbers: one TorrentStats per shared torrent, sampled once a second
 * (two additions per torrent for the rate history; per-peer rates only while someone looked at
 * the torrent in the last VIEW_WINDOW_MS), and the views the API serves, built when asked.
 */
import type { SharedTorrent, UploadCounter } from '../shared-torrent.ts';
import type { WireConnection } from '../wire/connection.ts';
import { UtpSocket } from '../utp/utp-socket.ts';
import { EncryptedStream } from '../mse/encrypted-stream.ts';
import { CLIENT_NAME } from '../wire/extensions.ts';
import { hostPort } from '../../bittorrent/address.ts';
import { TorrentStats } from './torrent-stats.ts';
import { PeerRates, peerRows, type PeerRow, type WireFacts } from './peer-rows.ts';
import { fileViews, pieceStates, RATE_SAMPLES, summarize, type TorrentDetail, type TorrentSummary } from './views.ts';

const SAMPLE_MS = 1000;
/** Per-peer rates are sampled while a page or script asked for details this recently. */
const VIEW_WINDOW_MS = 10_000;
/** An HTTP client counts as connected this long after its last byte. */
const HTTP_CLIENT_WINDOW_MS = 15_000;

interface Entry {
  torrent: SharedTorrent;
  stats: TorrentStats;
  rates: PeerRates;
}

/** What the dashboard reads of one wire connection. */
function wireFacts(c: WireConnection): WireFacts {
  const s = c.socket;
  const transport = s instanceof UtpSocket ? 'utp' : s instanceof EncryptedStream ? 'mse' : 'tcp';
  // Where it listens (BEP 10 `p`) names the peer better than the port of a connection it dialled.
  const listen = c.ext.peer?.p;
  const remote = listen ? hostPort(c.address, listen) : c.remote;
  return { peerId: c.peerId, version: c.ext.peer?.v, remote, transport, downloaded: c.downloaded, uploaded: c.uploaded, has: c.peerHave.count };
}

export class PeerStats {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly processCounter: UploadCounter,
    /** The torrents shared (PeerNode's map): each gets its numbers when first asked for. */
    private readonly torrents: ReadonlyMap<string, SharedTorrent>,
    private readonly wires: () => Iterable<WireConnection>,
  ) {
    this.timer = setInterval(() => this.sample(Date.now()), SAMPLE_MS);
    this.timer.unref();
  }

  /** The numbers of a shared torrent (undefined for one not shared). */
  get(infoHashHex: string): TorrentStats | undefined {
    return this.entry(infoHashHex)?.stats;
  }

  get torrentCount(): number {
    return this.torrents.size;
  }

  private entry(hex: string): Entry | undefined {
    let e = this.entries.get(hex);
    if (!e) {
      const torrent = this.torrents.get(hex);
      if (!torrent) return undefined;
      e = { torrent, stats: new TorrentStats(this.processCounter), rates: new PeerRates() };
      this.entries.set(hex, e);
    }
    return e;
  }

  /** Every shared torrent's entry, in the order they were shared. */
  private all(): Entry[] {
    return [...this.torrents.keys()].flatMap((hex) => this.entry(hex) ?? []);
  }

  /** Totals over every torrent, for /metrics. */
  totals(): { downloaded: number; uploaded: number; verified: number; failed: number; hashFailures: Map<string, number> } {
    const out = { downloaded: 0, uploaded: 0, verified: 0, failed: 0, hashFailures: new Map<string, number>() };
    for (const { stats } of this.all()) {
      out.downloaded += stats.downloaded;
      out.uploaded += stats.upload.uploaded;
      out.verified += stats.piecesVerified;
      out.failed += stats.piecesFailed;
      for (const [peer, n] of stats.hashFailures) out.hashFailures.set(peer, (out.hashFailures.get(peer) ?? 0) + n);
    }
    return out;
  }

  /** One summary per torrent, in the order they were shared. */
  summaries(): TorrentSummary[] {
    return this.all().map((e) => this.summary(e, this.rows(e)));
  }

  /** Everything about one torrent (marks it watched: its per-peer rates are sampled). */
  detail(infoHashHex: string, now = Date.now()): TorrentDetail | undefined {
    const e = this.entry(infoHashHex);
    if (!e) return undefined;
    if (now - e.stats.viewedAt > VIEW_WINDOW_MS) e.rates.sample(this.rows(e), now); // the first look starts the rates
    e.stats.viewedAt = now;
    const { meta, have } = e.torrent;
    const rows = this.rows(e);
    return {
      ...this.summary(e, rows),
      pieces: pieceStates(have, e.stats.download?.inFlightPieces() ?? []),
      files: fileViews(meta, have),
      filesTotal: meta.files.filter((f) => !f.pad).length,
      peerList: rows,
      history: e.stats.history.points(),
    };
  }

  /** Every row of peers of one torrent, with the rates of the last sample. */
  peers(infoHashHex: string): PeerRow[] {
    const e = this.entry(infoHashHex);
    return e ? this.rows(e) : [];
  }

  /** Live connections by transport over every torrent, for /metrics. */
  connections(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const e of this.all()) for (const r of this.rows(e)) for (const t of [r.transport, ...r.also]) counts.set(t, (counts.get(t) ?? 0) + 1);
    return counts;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private summary(e: Entry, rows: PeerRow[]): TorrentSummary {
    const { stats } = e;
    return summarize(e.torrent.meta, e.torrent.have, {
      downloaded: stats.downloaded,
      uploaded: stats.upload.uploaded,
      rate: stats.history.recent(RATE_SAMPLES),
      peers: rows.length,
      piecesFailed: stats.piecesFailed,
    });
  }

  private rows(e: Entry): PeerRow[] {
    const hex = e.torrent.meta.infoHashHex;
    const wires: WireFacts[] = [];
    for (const c of this.wires()) if (!c.closed && c.torrent.meta.infoHashHex === hex) wires.push(wireFacts(c));
    const sources = e.stats.download?.sourceReports() ?? [];
    const httpClients = e.stats.activeHttpClients(Date.now(), HTTP_CLIENT_WINDOW_MS);
    return peerRows({ wires, sources, httpClients, ourClient: CLIENT_NAME }, e.rates.lookup);
  }

  /** Once a second: each torrent's totals into its history; per-peer rates of watched torrents. */
  private sample(now: number): void {
    for (const e of this.all()) {
      e.stats.history.feed(now, e.stats.downloaded, e.stats.upload.uploaded);
      if (now - e.stats.viewedAt <= VIEW_WINDOW_MS) e.rates.sample(this.rows(e), now);
    }
  }
}
