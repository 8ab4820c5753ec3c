/**
 * After a failed or interrupted download: a `.part` is worth keeping only if it holds verified
 * pieces (the next run resumes from them). One this run created and left empty is removed, with
 * its state file, so that a failed run leaves nothing behind.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PartPaths } from './part-file.ts';

/**
 * Remove the `.part` (and its state) when it holds no verified piece and this run created it.
 * Returns the `.part`'s name as the user sees it when it is kept, else undefined.
 */
export async function dropEmptyPart(verified: number, createdByThisRun: boolean, p: PartPaths): Promise<string | undefined> {
  const shown = path.join(path.dirname(p.shownPath), p.partBase + '.part');
  if (verified > 0) return shown;
  if (!createdByThisRun) return undefined; // someone else's, or an earlier run's: not ours to delete
  // rm does not follow symbolic links: a link planted inside a multi-file .part is removed, not its target.
  await rm(p.partPath, { recursive: true, force: true }).catch(() => {});
  await rm(p.statePath, { force: true }).catch(() => {});
  return undefined;
}
