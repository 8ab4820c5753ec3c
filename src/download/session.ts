/**
 * One download, start to finish: check what is already on disk, serve verified pieces while
 * downloading, find peers through the tracker, fetch and verify every piece, then move the file
 * to its final name. The data only appears at its final name complete, verified and fsynced.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Metainfo } from '../metainfo/metainfo.ts';
import { Bitfield } from '../peer/bitfield.ts';
import { PieceStore, renameDurably, verifyPiece } from '../storage/piece-store.ts';
import { storageFiles } from '../storage/layout.ts';
import { safeJoin } from '../storage/safe-path.ts';
import { PeerNode } from '../peer/peer-node.ts';
import { Announcer, type TrackerReply } from '../tracker/client.ts';
import { Downloader, DEFAULT_DOWNLOADER_OPTIONS } from './downloader.ts';
import { HttpPeerSource } from './http-source.ts';

export interface SessionOptions {
  meta: Metainfo;
  announceUrl: string;
  outDir: string;
  host: string;
  port: number;
  peerId: Buffer;
  /** Give up when nothing useful happened for this long. */
  waitSeconds: number;
  log(line: string): void;
}

/** A failure to report to the user in one line. */
export class SessionError extends Error {}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Verify every piece in `store`; returns which ones match. */
async function verifyAll(store: PieceStore, meta: Metainfo): Promise<Bitfield> {
  const have = new Bitfield(meta.pieceCount);
  const scratch = Buffer.allocUnsafe(Math.min(meta.pieceLength, 4 * 1024 * 1024));
  for (let i = 0; i < meta.pieceCount; i++) if (await verifyPiece(store, meta, i, scratch)) have.set(i);
  return have;
}

/** Download `meta` into `outDir`; resolves with the final path (as the user wrote it). */
export async function runDownload(o: SessionOptions): Promise<string> {
  const { meta, log } = o;
  const shownPath = path.join(o.outDir, meta.name);
  const finalPath = safeJoin(o.outDir, [meta.name]);
  const partPath = safeJoin(o.outDir, [meta.name + '.part']);

  if (await exists(finalPath)) {
    // Never overwrite: a file already there is checked, and kept either way.
    let store: PieceStore;
    try {
      store = await PieceStore.openForReading(storageFiles(meta, o.outDir));
    } catch (e) {
      throw new SessionError(`${shownPath} already exists and does not match the torrent (${(e as Error).message}); not overwriting it`);
    }
    const have = await verifyAll(store, meta).finally(() => store.close());
    if (!have.complete) throw new SessionError(`${shownPath} already exists and does not match the torrent; not overwriting it`);
    log(`File already complete: ${meta.name}, verified at: ${shownPath}`);
    return shownPath;
  }

  let store: PieceStore;
  let resuming: boolean;
  try {
    await mkdir(o.outDir, { recursive: true });
    resuming = await exists(partPath);
    store = await PieceStore.openForWriting(storageFiles(meta, o.outDir, '.part'));
  } catch (e) {
    throw new SessionError(`cannot write in ${o.outDir}: ${(e as Error).message}`);
  }
  // Only a .part left by an earlier run can hold good pieces; a new one is all holes.
  let have = new Bitfield(meta.pieceCount);
  if (resuming) {
    log(`Checking ${path.join(o.outDir, meta.name + '.part')} for pieces already downloaded...`);
    have = await verifyAll(store, meta);
    log(`Resuming: ${have.count} of ${meta.pieceCount} pieces already verified`);
  }

  const node = new PeerNode();
  node.share({ meta, store, have });
  try {
    await node.listen(o.port, o.host);
  } catch (e) {
    await store.close();
    throw new SessionError(`cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
  }

  let lastTrackerError: string | undefined;
  let sawPeers = false;
  const downloader = new Downloader(meta, store, have, { ...DEFAULT_DOWNLOADER_OPTIONS, stallTimeoutMs: o.waitSeconds * 1000 }, {
    onPieceFailed: (i, from) => log(`Piece ${i} failed its SHA-1 check (from ${from.map((s) => s.label).join(', ')}); fetching it again`),
    onSourceDropped: (s, reason, banned) => log(`${banned ? 'Banned' : 'Dropped'} peer ${s.label}: ${reason}`),
  });

  const onReply = (reply: TrackerReply) => {
    lastTrackerError = undefined;
    // The tracker never lists us to ourselves; this guards against one that does.
    const fresh = reply.peers.filter((p) => !(p.port === o.port && p.ip === o.host));
    if (fresh.length === 0) {
      if (!sawPeers) log(`No seeders yet; asking the tracker again shortly`);
      return;
    }
    if (!sawPeers) log(`Found ${fresh.length} seeder(s), starting download...`);
    sawPeers = true;
    for (const p of fresh) {
      if (downloader.addSource(new HttpPeerSource(p.ip, p.port, meta.infoHashHex, meta.pieceCount))) {
        log(`Downloading ${meta.name} from Seeder ${p.ip.includes(':') ? `[${p.ip}]` : p.ip}:${p.port}`);
      }
    }
  };
  const announcer = new Announcer(
    o.announceUrl,
    { infoHash: meta.infoHash, peerId: o.peerId, port: o.port, numwant: 50 },
    () => ({ uploaded: node.counter.uploaded, downloaded: downloader.downloadedBytes, left: downloader.bytesLeft }),
    {
      onReply,
      onError: (e, retry) => {
        lastTrackerError = e.message;
        log(`Tracker unreachable (${e.message}); retrying in ${retry} s`);
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
    if (Date.now() < nextAsk) return;
    announcer.refresh();
    backoff = Math.min(backoff * 2, 15);
    nextAsk = Date.now() + backoff * 1000;
  }, 250);

  const stopServing = async () => {
    clearInterval(asker);
    await node.close();
  };
  const onSignal = () => {
    downloader.abort(new SessionError('interrupted; run again with the same torrent to resume'));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  announcer.start();
  try {
    await downloader.run();
    await stopServing();
    await store.sync();
    await store.close();
    await renameDurably(partPath, finalPath);
  } catch (e) {
    await stopServing();
    await announcer.stop();
    await store.close().catch(() => {});
    let message = (e as Error).message;
    if (!sawPeers) {
      message = lastTrackerError
        ? `the tracker did not answer within ${o.waitSeconds} s (${lastTrackerError})`
        : `no seeders found within ${o.waitSeconds} s`;
    }
    throw new SessionError(message);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  log(`File downloaded: ${meta.name}, saved to: ${shownPath}`);
  await announcer.completed();
  await announcer.stop();
  return shownPath;
}
