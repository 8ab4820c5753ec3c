/**
 * Resume state: which pieces of a `.part` are verified and durably on disk, kept in a small file
 * beside it (`<name>.part.state`) so that a restarted download neither refetches nor rehashes them.
 *
 * Crash safety: a piece is recorded only after its write completed and the data was fsynced; the
 * state file is replaced atomically (temp file, fsync, rename). So a requester killed at any
 * instant never trusts an unverified piece and loses at most the pieces of the last second.
 */
import { rename, rm } from 'node:fs/promises';
import { Bitfield } from '../bittorrent/bitfield.ts';
import { createFresh, readSmallFile } from './no-follow.ts';

interface StateJson {
  version: 1;
  infoHash: string;
  pieceCount: number;
  bitfield: string; // base64
}

const MAX_STATE_BYTES = 4 * 1024 * 1024;

/** Parse a state file's bytes; null if it is not a valid state for this torrent. Pure. */
export function parseResumeState(bytes: Buffer, infoHashHex: string, pieceCount: number): Bitfield | null {
  if (bytes.length > MAX_STATE_BYTES) return null;
  try {
    const j = JSON.parse(bytes.toString('utf8')) as Partial<StateJson>;
    if (j.version !== 1 || j.infoHash !== infoHashHex || j.pieceCount !== pieceCount || typeof j.bitfield !== 'string') return null;
    return new Bitfield(pieceCount, Buffer.from(j.bitfield, 'base64'));
  } catch {
    return null;
  }
}

export function encodeResumeState(infoHashHex: string, have: Bitfield): Buffer {
  const j: StateJson = { version: 1, infoHash: infoHashHex, pieceCount: have.size, bitfield: have.bytes.toString('base64') };
  return Buffer.from(JSON.stringify(j) + '\n');
}

/** The recorded pieces, or null (no state, a damaged one, or a link: then every piece is checked). */
export async function loadResumeState(path: string, infoHashHex: string, pieceCount: number): Promise<Bitfield | null> {
  try {
    const bytes = await readSmallFile(path, MAX_STATE_BYTES);
    return bytes && parseResumeState(bytes, infoHashHex, pieceCount);
  } catch {
    return null;
  }
}

/**
 * Remove a finished download's state file and the temp file a kill during a save can leave
 * beside it (`writeFileAtomic`'s `.tmp`).
 */
export async function removeResumeState(path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.tmp`, { force: true });
}

/**
 * Replace `path` atomically with `data`, durable once this resolves. The temp file is created
 * new (never opened through a link planted at its name); the rename replaces a link at `path`
 * itself, not its target.
 */
export async function writeFileAtomic(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const h = await createFresh(tmp);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, path);
}

/**
 * Records verified pieces. `pieceWritten` queues a piece; `flush` fsyncs the data (via `syncData`)
 * and only then writes the state with the pieces queued before the sync began.
 */
export class ResumeRecorder {
  private readonly recorded: Bitfield;
  private pending: number[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly infoHashHex: string,
    initial: Bitfield,
    private readonly syncData: () => Promise<void>,
    private readonly everyMs = 1000,
  ) {
    this.recorded = new Bitfield(initial.size, Buffer.from(initial.bytes));
  }

  pieceWritten(index: number): void {
    this.pending.push(index);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush().catch(() => {});
      }, this.everyMs);
      this.timer.unref();
    }
  }

  /** Make every queued piece durable and recorded. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = (async () => {
      await this.syncData();
      for (const i of batch) this.recorded.set(i);
      await writeFileAtomic(this.path, encodeResumeState(this.infoHashHex, this.recorded));
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  /** Stop the timer; remove the state file (the download is complete). */
  async discard(): Promise<void> {
    clearTimeout(this.timer);
    this.pending = [];
    while (this.flushing) await this.flushing.catch(() => {});
    await removeResumeState(this.path);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
