/**
 * One download, start to finish: check what is already on disk, serve verified pieces while
 * downloading, find peers through the tracker, fetch and verify every piece, move the data to
 * its final name, then (unless told not to) keep seeding until stopped. The data appears at its
 * final name only complete, verified and fsynced.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Metainfo } from '../metainfo/metainfo.ts';
import { Bitfield } from '../bittorrent/bitfield.ts';
import { PieceStore, renameDurably, verifyPiece } from '../storage/piece-store.ts';
import { partBaseName, storageFiles } from '../storage/layout.ts';
import { safeJoin } from '../storage/safe-path.ts';
import { loadResumeState, removeResumeState, ResumeRecorder } from '../storage/resume-state.ts';
import { PeerNode, type PeerNodeOptions } from '../peer/peer-node.ts';
import { Announcer, TrackerFailure } from '../tracker/client.ts';
import { DialOut } from '../peer/dial-out.ts';
import { Downloader, DEFAULT_DOWNLOADER_OPTIONS } from './downloader.ts';
import { WebSeedSource } from './webseed-source.ts';
import { PeerSources } from './peer-sources.ts';
import { isOurPeerId } from '../bittorrent/peer-id.ts';
import { hostPort } from '../bittorrent/address.ts';

export interface ProgressSnapshot {
  total: number;
  done: number;
  /** Bytes per second over the last few seconds. */
  rate: number;
  peers: number;
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
  log(line: string): void;
  /** Called about twice a second while downloading. */
  onProgress?(p: ProgressSnapshot): void;
  /** Called once the download is complete (before seeding), e.g. to end a progress bar. */
  onDownloaded?(): void;
}

const WEB_SEED_DELAY_MS = 3000;

/** A failure to report to the user in one line. */
export class SessionError extends Error {}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false; // creating it will say what is wrong
    throw new SessionError(`cannot use ${p}: ${(e as Error).message}`);
  }
}

/** Verify every piece in `store`; returns which ones match. */
async function verifyAll(store: PieceStore, meta: Metainfo): Promise<Bitfield> {
  const have = new Bitfield(meta.pieceCount);
  const scratch = Buffer.allocUnsafe(Math.min(meta.pieceLength, 4 * 1024 * 1024));
  for (let i = 0; i < meta.pieceCount; i++) if (await verifyPiece(store, meta, i, scratch)) have.set(i);
  return have;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): { promise: Promise<void>; cancel(): void } {
  let cancel = () => {};
  const promise = new Promise<void>((resolve) => {
    const on = () => resolve();
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
    cancel = () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    };
  });
  return { promise, cancel };
}

/** An existing file at the final name is verified and kept, never overwritten. */
async function checkExisting(meta: Metainfo, outDir: string, shownPath: string): Promise<void> {
  let store: PieceStore;
  try {
    store = await PieceStore.openForReading(storageFiles(meta, outDir));
  } catch (e) {
    throw new SessionError(`${shownPath} already exists and does not match the torrent (${(e as Error).message}); not overwriting it`);
  }
  const have = await verifyAll(store, meta).finally(() => store.close());
  if (!have.complete) throw new SessionError(`${shownPath} already exists and does not match the torrent; not overwriting it`);
}

/** Download `meta` into `outDir`; resolves with the final path (as the user wrote it). */
export async function runDownload(o: SessionOptions): Promise<string> {
  const { meta, log } = o;
  const shownPath = path.join(o.outDir, meta.name);
  const finalPath = safeJoin(o.outDir, [meta.name]);
  // `<name>.part` while downloading, `<name>.part.state` beside it (see partBaseName).
  const partBase = partBaseName(meta);
  const partPath = safeJoin(o.outDir, [partBase + '.part']);
  const statePath = safeJoin(o.outDir, [partBase + '.part.state']);

  if (await exists(finalPath)) {
    await checkExisting(meta, o.outDir, shownPath);
    // Killed after the final rename but before its state was removed: nothing left to resume.
    await removeResumeState(statePath).catch(() => {});
    log(`File already complete: ${meta.name}, verified at: ${shownPath}`);
    return shownPath;
  }

  let store: PieceStore;
  let resuming: boolean;
  try {
    await mkdir(o.outDir, { recursive: true });
    resuming = await exists(partPath);
    store = await PieceStore.openForWriting(storageFiles({ ...meta, name: partBase }, o.outDir, '.part'));
  } catch (e) {
    throw new SessionError(`cannot write in ${o.outDir}: ${(e as Error).message}`);
  }
  // Only a .part left by an earlier run can hold good pieces; a new one is all holes. The state
  // file says which are verified; without one (or with a damaged one), every piece is checked.
  let have = new Bitfield(meta.pieceCount);
  if (resuming) {
    const recorded = await loadResumeState(statePath, meta.infoHashHex, meta.pieceCount);
    if (recorded) {
      have = recorded;
    } else {
      log(`Checking ${path.join(o.outDir, partBase + '.part')} for pieces already downloaded...`);
      have = await verifyAll(store, meta);
    }
    log(`Resuming: ${have.count} of ${meta.pieceCount} pieces already verified`);
  }
  const recorder = new ResumeRecorder(statePath, meta.infoHashHex, have, () => store.sync());

  const node = new PeerNode({ ...o.peerLimits, maxUploadRate: o.maxUploadRate, peerId: o.peerId });
  const dialOut = new DialOut(node, meta.infoHashHex);
  node.share({ meta, store, have });
  try {
    await node.listen(o.port, o.host);
  } catch (e) {
    await store.close();
    throw new SessionError(`cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
  }

  let lastTrackerError: string | undefined;
  let sawPeers = false; // any source at all: tracker peers or web seeds
  let sawTrackerPeers = false;
  const downloader = new Downloader(meta, store, have, { ...DEFAULT_DOWNLOADER_OPTIONS, stallTimeoutMs: o.waitSeconds * 1000 }, {
    onPiece: (i) => {
      recorder.pieceWritten(i);
      node.pieceVerified(meta.infoHashHex, i);
    },
    onPieceFailed: (i, from) => log(`Piece ${i} failed its SHA-1 check (from ${from.map((s) => s.label).join(', ')}); fetching it again`),
    onSourceDropped: (s, reason, banned) => log(`${banned ? 'Banned' : 'Dropped'} peer ${s.label}: ${reason}`),
  });

  const peers = new PeerSources(node, downloader, meta, { host: o.host, port: o.port, requestTimeoutMs: o.requestTimeoutSeconds * 1000 }, log);
  // Peers that fetch from us tell us where they serve: use them as sources too (any client can
  // send that header: the same gate as tracker peers, see PeerSources).
  node.onPeerSeen((hash, ip, port) => {
    if (hash === meta.infoHashHex && !have.complete) peers.useHttp(ip, port);
  });
  // Real clients that dial us are sources too, while we download.
  node.onWire((c) => {
    if (c.torrent.meta.infoHashHex === meta.infoHashHex && !have.complete && !isOurPeerId(c.peerId)) peers.useIncoming(c);
  });

  const announcer = new Announcer(
    o.trackers,
    { infoHash: meta.infoHash, peerId: o.peerId, port: o.port, numwant: 50 },
    () => ({ uploaded: node.counter.uploaded, downloaded: downloader.downloadedBytes, left: downloader.bytesLeft }),
    {
      onReply: (reply) => {
        lastTrackerError = undefined;
        if (reply.peers.length === 0) startWebSeeds();
        else setTimeout(startWebSeeds, WEB_SEED_DELAY_MS).unref();
        if (have.complete) {
          // Seeding: dial the peers, as the seeder does (some clients never dial loopback peers).
          dialOut.dialAll(reply.peers.filter((p) => !(p.port === o.port && p.ip === o.host)));
          return;
        }
        if (reply.peers.length === 0) {
          if (!sawTrackerPeers) log('No seeders yet; asking the tracker again shortly');
          return;
        }
        if (!sawTrackerPeers) log(`Found ${reply.peers.length} seeder(s), starting download...`);
        sawPeers = sawTrackerPeers = true;
        for (const p of reply.peers) peers.addTrackerPeer(p);
      },
      onError: (e, retry) => {
        lastTrackerError = e.message;
        startWebSeeds();
        log(`${e instanceof TrackerFailure ? 'Tracker said no' : 'Tracker unreachable'} (${e.message}); retrying in ${retry} s`);
      },
    },
  );

  // While no peer is usable, ask the tracker again with backoff (1 s doubling to 15 s).
  let backoff = 1;
  let nextAsk = Date.now() + 1000;
  const asker = setInterval(() => {
    if (downloader.activeSources > 0) {
      backoff = 1;
      return;
    }
    if (Date.now() < nextAsk || o.trackers.length === 0) return;
    announcer.refresh();
    backoff = Math.min(backoff * 2, 15);
    nextAsk = Date.now() + backoff * 1000;
  }, 250);

  // Progress, with the rate over a sliding window of about 5 s.
  const samples: Array<{ t: number; done: number }> = [];
  const progress = setInterval(() => {
    const done = meta.length - downloader.bytesLeft;
    const t = Date.now();
    samples.push({ t, done });
    while (samples.length > 10) samples.shift();
    const first = samples[0]!;
    const rate = t > first.t ? ((done - first.done) * 1000) / (t - first.t) : 0;
    o.onProgress?.({ total: meta.length, done, rate, peers: downloader.activeSources, uploaded: node.counter.uploaded });
  }, 500);

  const interrupted = untilSignal();
  void interrupted.promise.then(() => downloader.abort(new SessionError('interrupted; run again with the same torrent to resume')));

  // Web seeds (BEP 19) cost their origin server bandwidth that peers give for free: they join at
  // once when there is no tracker or it fails or lists nobody, and after a few seconds (if the
  // download is not done by then) when it lists peers.
  let webSeedsStarted = false;
  const startWebSeeds = () => {
    if (webSeedsStarted || have.complete) return;
    webSeedsStarted = true;
    for (const url of meta.urlList.filter((u) => /^https?:\/\//i.test(u))) {
      if (downloader.addSource(new WebSeedSource(url, meta, o.requestTimeoutSeconds * 1000))) {
        sawPeers = true;
        log(`Downloading ${meta.name} from web seed ${url}`);
      }
    }
  };
  if (o.trackers.length === 0) startWebSeeds();
  if (o.trackers.length) announcer.start();
  try {
    await downloader.run();
    await store.sync();
    await renameDurably(partPath, finalPath); // open handles follow the rename: seeding goes on
    await recorder.discard();
  } catch (e) {
    clearInterval(asker);
    clearInterval(progress);
    await node.close();
    await announcer.stop();
    // Keep every verified piece for the next run.
    await recorder.flush().catch(() => {});
    recorder.stop();
    await store.close().catch(() => {});
    let message = (e as Error).message;
    if (!sawPeers && !(e instanceof SessionError)) {
      message = lastTrackerError
        ? `the tracker did not answer within ${o.waitSeconds} s (${lastTrackerError})`
        : `no seeders found within ${o.waitSeconds} s`;
    }
    throw new SessionError(message);
  } finally {
    interrupted.cancel();
    clearInterval(asker);
    clearInterval(progress);
  }
  o.onDownloaded?.();
  log(`File downloaded: ${meta.name}, saved to: ${shownPath}`);
  const got = [...downloader.contributions()].filter(([, c]) => c.pieces > 0);
  if (got.length) log(`Pieces received: ${got.map(([label, c]) => `${c.pieces} from ${label}`).join(', ')}`);
  await announcer.completed();

  if (o.seed) {
    log(`Seeding ${meta.name} on http://${hostPort(o.host, o.port)} (Ctrl-C to stop)`);
    const stop = untilSignal();
    await stop.promise;
  }
  await node.close();
  await announcer.stop();
  await store.close();
  return shownPath;
}
