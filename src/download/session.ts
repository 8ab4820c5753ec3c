/**
 * One download, start to finish, as a session in named phases: verify what is on disk
 * (prepare), serve verified pieces and find peers (findPeers), fetch and verify every piece
 * (download), move the data to its final name (finish), then, unless told not to, keep seeding
 * until stopped (seed). The data appears at its final name only complete, verified and fsynced.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Metainfo } from '../metainfo/metainfo.ts';
import type { PeerNodeOptions } from '../peer/peer-node.ts';
import { Seeding, type TorrentToShare } from '../seed/seeding.ts';
import { holdStop, type StopHold } from '../cli/stop-signals.ts';
import { SeedingStatus, linesTo } from '../cli/seeding-status.ts';
import { announceAsSeeder } from '../seed/seed-torrent.ts';
import type { PeerHost } from '../peer/peer-host.ts';
import { PieceStore } from '../storage/piece-store.ts';
import { storageFiles } from '../storage/layout.ts';
import { Bitfield } from '../bittorrent/bitfield.ts';
import { hostPort } from '../bittorrent/address.ts';
import { publicAddress } from '../net/reachable-addresses.ts';
import { downloadSummary } from '../cli/download-summary.ts';
import { plainNetError } from '../cli/net-messages.ts';
import { dropEmptyPart } from './part-cleanup.ts';
import { Downloader, DEFAULT_DOWNLOADER_OPTIONS } from './downloader.ts';
import { alreadyComplete, finishPart, keepPart, openPart, partPaths, type PartFile, type PartPaths } from './part-file.ts';
import { PeerFinder } from './peer-finder.ts';
import { DownloadInterrupted, SessionError } from './session-error.ts';
import type { PeerProtocol } from './sources/peer-sources.ts';
import { downloadProbe } from './stats-probe.ts';
import type { TrackerPeer } from '../tracker-client/reply.ts';

export { DownloadInterrupted, SessionError } from './session-error.ts';

export interface ProgressSnapshot {
  total: number;
  done: number;
  /** Bytes per second over the last few seconds. */
  rate: number;
  /** Peers in use (our own web seeds not counted: see webSeeds). */
  peers: number;
  /** Web seeds in use (BEP 19). */
  webSeeds: number;
  uploaded: number;
}

export interface SessionOptions {
  meta: Metainfo;
  /** BEP 12 tiers of http(s) trackers (may be empty when web seeds are the only source). */
  trackers: string[][];
  outDir: string;
  host: string;
  port: number;
  peerId: Buffer;
  /** Give up when nothing useful happened for this long. */
  waitSeconds: number;
  /** Per-request inactivity timeout towards peers. */
  requestTimeoutSeconds: number;
  /** Keep serving after the download until SIGINT/SIGTERM. */
  seed: boolean;
  maxUploadRate?: number;
  /** Connection limits and deadlines of our peer side (PeerNode defaults when not given). */
  peerLimits?: PeerNodeOptions;
  /** How peers of ours are used (default auto: their HTTP piece API). */
  protocol?: PeerProtocol;
  /** The process's peer side, shared with its other torrents; without it the session listens on host:port itself. */
  peerHost?: PeerHost;
  /** Peers to dial besides the tracker's (`--peer`, a magnet's x.pe and those of its metadata phase). */
  peers?: TrackerPeer[];
  log(line: string): void;
  /** Called about twice a second while downloading. */
  onProgress?(p: ProgressSnapshot): void;
  /** Called as each piece is verified and written (`--json`). */
  onPieceVerified?(index: number): void;
  /** Called once the download is complete (before seeding), e.g. to end a progress bar. */
  onDownloaded?(): void;
}

/** Download `meta` into `outDir`; resolves with the final path (as the user wrote it). */
export function runDownload(o: SessionOptions): Promise<string> {
  return new DownloadSession(o).run();
}

export class DownloadSession {
  private readonly paths: PartPaths;

  constructor(private readonly o: SessionOptions) {
    this.paths = partPaths(o.meta, o.outDir);
  }

  async run(): Promise<string> {
    const { meta, log } = this.o;
    const { shownPath } = this.paths;
    if (await alreadyComplete(meta, this.o.outDir, this.paths)) {
      // Held before the line a script may answer with a signal; released once seeding is closed.
      const stop = holdStop();
      try {
        log(`${meta.multiFile ? 'Folder' : 'File'} already complete: ${meta.name}, verified at: ${shownPath}`);
        if (this.o.seed) await this.seedComplete(stop);
      } finally {
        stop.release();
      }
      return shownPath;
    }
    const createdPart = !(await stat(this.paths.partPath).then(() => true, () => false));
    const part = await openPart(meta, this.o.outDir, this.paths, log);
    // One hold from here to the end, so that a signal at any point (the switch to seeding included) stops cleanly.
    const stop = holdStop();
    try {
      return await this.fetchAndSeed(part, createdPart, stop);
    } finally {
      stop.release();
    }
  }

  /** Serve, download, finish, then seed until `stop` (a signal before seeding: the closing line at once). */
  private async fetchAndSeed(part: PartFile, createdPart: boolean, stop: StopHold): Promise<string> {
    const { meta, log } = this.o;
    const { shownPath } = this.paths;
    const seeding = await this.serve(part);
    const downloader = this.downloader(part, seeding);
    const finder = this.findPeers(part, seeding, downloader);
    const started = Date.now();
    const toFetch = downloader.bytesLeft;
    await this.download(part, seeding, downloader, finder, createdPart, stop);
    this.o.onDownloaded?.();
    log(`${meta.multiFile ? 'Folder' : 'File'} downloaded: ${meta.name}, saved to: ${shownPath}`);
    const sources = downloader.contributions();
    const got = [...sources].filter(([, c]) => c.pieces > 0);
    if (got.length) log(`Pieces received: ${got.map(([label, c]) => `${c.pieces} from ${label}`).join(', ')}`);
    log(downloadSummary({ fetched: toFetch, size: meta.length, ms: Date.now() - started, sources }));
    await finder.completed();
    if (this.o.seed) await this.seed(seeding, stop);
    await seeding.close();
    return shownPath;
  }

  /** Serve the pieces verified so far (and each one as it is verified) on our port. */
  private async serve(part: Pick<TorrentToShare, 'store' | 'have'>): Promise<Seeding> {
    const { meta, host, port, peerId, maxUploadRate, peerLimits, peerHost } = this.o;
    try {
      if (peerHost) return await Seeding.on(peerHost, { meta, store: part.store, have: part.have });
      return await Seeding.listen({ meta, store: part.store, have: part.have, host, port, peerId, maxUploadRate, peerLimits });
    } catch (e) {
      await part.store.close();
      throw new SessionError((e as Error).message);
    }
  }

  /** The scheduler, recording and announcing each verified piece. */
  private downloader(part: PartFile, seeding: Seeding): Downloader {
    const { meta, log } = this.o;
    const stats = seeding.node.stats.get(meta.infoHashHex);
    const downloader = new Downloader(meta, part.store, part.have, { ...DEFAULT_DOWNLOADER_OPTIONS, stallTimeoutMs: this.o.waitSeconds * 1000 }, {
      onPiece: (i) => {
        part.recorder.pieceWritten(i);
        this.o.onPieceVerified?.(i);
        stats?.pieceVerified();
        seeding.node.pieceVerified(meta.infoHashHex, i);
      },
      onPieceFailed: (i, from) => {
        stats?.pieceFailed(from.map((s) => s.address));
        log(`Piece ${i} failed its SHA-1 check (from ${from.map((s) => s.label).join(', ')}); fetching it again`);
      },
      onSourceDropped: (s, reason, banned) => log(`${banned ? 'Banned' : 'Dropped'} peer ${s.label}: ${plainNetError(reason)}`),
    });
    if (stats) stats.download = downloadProbe(downloader);
    return downloader;
  }

  /** Peers from the tracker, peers that find us, web seeds: see PeerFinder. */
  private findPeers(part: PartFile, seeding: Seeding, downloader: Downloader): PeerFinder {
    const { meta, trackers, host, port, log } = this.o;
    const requestTimeoutMs = this.o.requestTimeoutSeconds * 1000;
    const protocol = this.o.protocol ?? 'auto';
    const peers = this.o.peers ?? [];
    return new PeerFinder({ meta, trackers, have: part.have, host, port, requestTimeoutMs, protocol, seedAfter: this.o.seed, peers, log }, seeding, downloader);
  }

  /**
   * Fetch every piece, then finish (sync, rename). On failure or interruption the verified pieces
   * are kept for the next run and the session ends with one line for the user.
   */
  private async download(part: PartFile, seeding: Seeding, downloader: Downloader, finder: PeerFinder, createdPart: boolean, stop: StopHold): Promise<void> {
    const progress = this.reportProgress(downloader, seeding, finder);
    // A no-op once the download is over: a later signal ends the seeding instead.
    void stop.requested.then(() => downloader.abort(new DownloadInterrupted('interrupted')));
    finder.start();
    try {
      await downloader.run();
      await finishPart(part, this.paths);
    } catch (e) {
      finder.stopAsking();
      clearInterval(progress);
      await seeding.stop();
      await keepPart(part);
      // A .part this run created and holds nothing verified is of no use: no litter on disk.
      const kept = await dropEmptyPart(part.have.count, createdPart, this.paths);
      if (kept) this.o.log(`${part.have.count} of ${this.o.meta.pieceCount} pieces kept in ${kept}: run again to resume`);
      if (kept && e instanceof DownloadInterrupted) throw new DownloadInterrupted('interrupted; run again with the same torrent to resume');
      throw finder.failure(e as Error, this.o.waitSeconds, path.join(this.o.outDir, this.paths.partBase + '.part'));
    } finally {
      finder.stopAsking();
      clearInterval(progress);
    }
  }

  /** Progress about twice a second, with the rate over a sliding window of about 5 s. */
  private reportProgress(downloader: Downloader, seeding: Seeding, finder: PeerFinder): NodeJS.Timeout {
    const { meta } = this.o;
    const samples: Array<{ t: number; done: number }> = [];
    return setInterval(() => {
      const done = meta.length - downloader.bytesLeft;
      const t = Date.now();
      samples.push({ t, done });
      while (samples.length > 10) samples.shift();
      const first = samples[0]!;
      const rate = t > first.t ? ((done - first.done) * 1000) / (t - first.t) : 0;
      const webSeeds = finder.liveWebSeeds;
      this.o.onProgress?.({ total: meta.length, done, rate, peers: Math.max(0, downloader.activeSources - webSeeds), webSeeds, uploaded: seeding.uploaded });
    }, 500);
  }

  /** The data was already here and verified: seed it (announced with left=0) until stopped. */
  private async seedComplete(stop: StopHold): Promise<void> {
    const { meta, trackers, log } = this.o;
    let store: PieceStore;
    try {
      store = await PieceStore.openForReading(storageFiles(meta, this.o.outDir));
    } catch (e) {
      throw new SessionError(`cannot open ${this.paths.shownPath} to seed it: ${(e as Error).message}`);
    }
    const seeding = await this.serve({ store, have: Bitfield.full(meta.pieceCount) });
    if (trackers.length) void announceAsSeeder(seeding, trackers, log);
    await this.seed(seeding, stop);
    await seeding.close();
  }

  /** Keep serving until SIGINT or SIGTERM (`stop`), then say what was uploaded (the seeder's closing line). */
  private async seed(seeding: Seeding, stop: StopHold): Promise<void> {
    const { meta, host, peerHost, log } = this.o;
    // Under --host 0.0.0.0 the address others can reach, not the wildcard (as the seeder prints).
    log(`Seeding ${meta.name} on http://${hostPort(publicAddress(host), peerHost?.port ?? this.o.port)} (Ctrl-C to stop)`);
    const status = new SeedingStatus(meta.name, meta.length, () => ({ uploaded: seeding.uploaded, peers: 0 }), linesTo(log));
    await stop.requested;
    status.stop();
  }
}
