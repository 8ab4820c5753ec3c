/**
 * The data on disk, before and after the download: a file already at the final name is verified
 * and kept (never overwritten); otherwise `<name>.part` (with `<name>.part.state` beside it, see
 * partBaseName) is opened or resumed, and once complete it is synced and renamed, so the data
 * appears at its final name only complete, verified and fsynced.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Metainfo } from '../metainfo/metainfo.ts';
import { Bitfield } from '../bittorrent/bitfield.ts';
import { PieceStore, renameDurably, verifyPiece } from '../storage/piece-store.ts';
import { partBaseName, storageFiles } from '../storage/layout.ts';
import { safeJoin } from '../storage/safe-path.ts';
import { loadResumeState, removeResumeState, ResumeRecorder } from '../storage/resume-state.ts';
import { SessionError } from './session-error.ts';
import { fsErrorMessage } from '../cli/fs-messages.ts';

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false; // creating it will say what is wrong
    throw new SessionError(fsErrorMessage(e, p));
  }
}

/** Verify every piece in `store`; returns which ones match. */
async function verifyAll(store: PieceStore, meta: Metainfo): Promise<Bitfield> {
  const have = new Bitfield(meta.pieceCount);
  const scratch = Buffer.allocUnsafe(Math.min(meta.pieceLength, 4 * 1024 * 1024));
  for (let i = 0; i < meta.pieceCount; i++) if (await verifyPiece(store, meta, i, scratch)) have.set(i);
  return have;
}

/** Where a download's data lives: its final name (as the user wrote it, and safe), the .part and its state. */
export interface PartPaths {
  shownPath: string;
  finalPath: string;
  partBase: string;
  partPath: string;
  statePath: string;
}

export function partPaths(meta: Metainfo, outDir: string): PartPaths {
  const partBase = partBaseName(meta);
  return {
    shownPath: path.join(outDir, meta.name),
    finalPath: safeJoin(outDir, [meta.name]),
    partBase,
    partPath: safeJoin(outDir, [partBase + '.part']),
    statePath: safeJoin(outDir, [partBase + '.part.state']),
  };
}

/**
 * True if the data is already at its final name and verifies (a leftover state file is
 * removed); throws if something there does not match; false if nothing is there.
 */
export async function alreadyComplete(meta: Metainfo, outDir: string, p: PartPaths): Promise<boolean> {
  if (!(await exists(p.finalPath))) return false;
  let store: PieceStore;
  try {
    store = await PieceStore.openForReading(storageFiles(meta, outDir));
  } catch (e) {
    throw new SessionError(`${p.shownPath} already exists and does not match the torrent (${(e as Error).message}); not overwriting it`);
  }
  const have = await verifyAll(store, meta).finally(() => store.close());
  if (!have.complete) throw new SessionError(`${p.shownPath} already exists and does not match the torrent; not overwriting it`);
  // Killed after the final rename but before its state was removed: nothing left to resume.
  await removeResumeState(p.statePath).catch(() => {});
  return true;
}

/** The .part being downloaded into: its store, the pieces verified so far, and their record. */
export interface PartFile {
  store: PieceStore;
  have: Bitfield;
  recorder: ResumeRecorder;
}

/**
 * Open (or create) the .part. Only a .part left by an earlier run can hold good pieces; a new one
 * is all holes. The state file says which are verified; without one (or with a damaged one),
 * every piece is checked.
 */
export async function openPart(meta: Metainfo, outDir: string, p: PartPaths, log: (line: string) => void): Promise<PartFile> {
  let store: PieceStore;
  let resuming: boolean;
  try {
    await mkdir(outDir, { recursive: true });
    resuming = await exists(p.partPath);
    store = await PieceStore.openForWriting(storageFiles({ ...meta, name: p.partBase }, outDir, '.part'));
  } catch (e) {
    throw new SessionError(`cannot write in ${outDir}: ${fsErrorMessage(e, (e as NodeJS.ErrnoException).path ?? outDir)}`);
  }
  let have = new Bitfield(meta.pieceCount);
  if (resuming) {
    const recorded = await loadResumeState(p.statePath, meta.infoHashHex, meta.pieceCount);
    if (recorded) {
      have = recorded;
    } else {
      log(`Checking ${path.join(outDir, p.partBase + '.part')} for pieces already downloaded...`);
      have = await verifyAll(store, meta);
    }
    log(`Resuming: ${have.count} of ${meta.pieceCount} pieces already verified`);
  }
  return { store, have, recorder: new ResumeRecorder(p.statePath, meta.infoHashHex, have, () => store.sync()) };
}

/** Complete: sync, move to the final name (open handles follow: seeding goes on), drop the state. */
export async function finishPart(part: PartFile, p: PartPaths): Promise<void> {
  await part.store.sync();
  await renameDurably(p.partPath, p.finalPath);
  await part.recorder.discard();
}

/** Interrupted or failed: keep every verified piece for the next run, then close. */
export async function keepPart(part: PartFile): Promise<void> {
  await part.recorder.flush().catch(() => {});
  part.recorder.stop();
  await part.store.close().catch(() => {});
}
