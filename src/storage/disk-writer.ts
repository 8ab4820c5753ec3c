/**
 * Writes downloads' pieces from one worker thread per process, in 16 KiB synchronous writes
 * straight from the piece pool's shared memory: the event loop never waits on the disk, one
 * handoff per piece. Not fs.promises: large writes get page-cache folios that are slow to
 * allocate, small ones cost a threadpool round trip each (figures: bench/README.md, "Measurements
 * behind the design").
 *
 * One thread for every store, as libtorrent has one disk pool per session: a requester fetching
 * 50 torrents at once would otherwise start 50 threads (~10 MB each, and a module load each).
 * Stores' writes share its queue in arrival order, a piece at a time. Each PieceStore has its own
 * DiskWriter, a handle on the thread that counts its own writes, so closing one store waits for
 * its writes only. The thread starts on the first write, stays while a store that wrote is open,
 * then LINGER_MS more so back-to-back stores (a queue of torrents, tests) reuse it, and is then
 * terminated; the next write starts a new one. Only a write in flight keeps the process alive:
 * an idle thread, lingering or kept by a store never closed, does not.
 *
 * Errors: a write's own failure (EBADF, ENOSPC...) rejects that write only. If the thread dies,
 * every write in flight, of every store, rejects with "disk writer thread died": each caller
 * learns its bytes may not be on disk (the Downloader then fails that download with the error).
 * Nothing else is poisoned: a store's next write, whoever's, starts a fresh thread.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.ts';

export interface WriteRequest {
  id: number;
  fd: number;
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
  position: number;
}
export type WriteReply = { id: number; error?: undefined } | { id: number; error: { message: string; code?: string } };

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** How long an idle thread outlives the last store that used it (a new store soon after reuses it). */
const LINGER_MS = 2000;

/** Whether `data` can go through a DiskWriter (its memory is shared with the writer thread). */
export function isShared(data: Buffer): boolean {
  return data.buffer instanceof SharedArrayBuffer;
}

/** The process's one writer thread, shared by every DiskWriter. */
class WriterThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** DiskWriters that wrote and are not closed yet: while any, the thread stays. */
  private readonly users = new Set<DiskWriter>();
  private lingerTimer: NodeJS.Timeout | null = null;
  lingerMs = LINGER_MS;
  /** Threads started so far (tests count them). */
  started = 0;

  get running(): boolean {
    return this.worker !== null;
  }

  /** Never throws: a thread that cannot start (or a message that cannot go) is a rejected write. */
  write(user: DiskWriter, fd: number, data: Buffer, position: number): Promise<void> {
    this.users.add(user);
    this.cancelLinger();
    const id = this.nextId++;
    const req: WriteRequest = { id, fd, buffer: data.buffer as SharedArrayBuffer, byteOffset: data.byteOffset, length: data.length, position };
    return new Promise<void>((resolve, reject) => {
      const worker = this.start();
      worker.postMessage(req); // its answer comes in a later turn of the event loop, after this
      if (this.pending.size === 0) worker.ref(); // a write in flight keeps the process alive
      this.pending.set(id, { resolve, reject });
    });
  }

  /** `user` is closed (its writes done): when it was the last, the thread goes after LINGER_MS. */
  release(user: DiskWriter): void {
    if (!this.users.delete(user) || this.users.size > 0 || !this.worker) return;
    this.cancelLinger();
    this.lingerTimer = setTimeout(() => this.stop(), this.lingerMs);
    this.lingerTimer.unref();
  }

  /** Terminate the thread as a crash would (tests): every write in flight fails. */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker(import.meta.url, 'disk-writer-worker', null);
    // Events of a thread already replaced (stopped, or died and restarted) are not this one's.
    w.on('message', (m: WriteReply) => this.worker === w && this.settle(m));
    w.on('error', (e: Error) => this.died(w, `disk writer thread died: ${e.message}`));
    w.on('exit', (code) => this.died(w, `disk writer thread died (exit code ${code})`));
    w.unref();
    this.worker = w;
    this.started++;
    return w;
  }

  /** No store uses the thread and nothing is in flight: terminate it. */
  private stop(): void {
    this.lingerTimer = null;
    const w = this.worker;
    if (!w || this.users.size > 0 || this.pending.size > 0) return;
    this.worker = null;
    void w.terminate();
  }

  private settle(m: WriteReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error) p.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
    else p.resolve();
    if (this.pending.size === 0) this.worker?.unref();
  }

  /** The thread is gone: every write in flight fails; the next write starts a fresh thread. */
  private died(w: Worker, message: string): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.cancelLinger();
    const e = new Error(message);
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) p.reject(e);
  }

  private cancelLinger(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
  }
}

const thread = new WriterThread();

/** One store's handle on the shared writer thread. */
export class DiskWriter {
  private inFlight = 0;
  private closed = false;
  private idle: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  /**
   * Write all of `data` (SharedArrayBuffer-backed) at `position` of the open file `fd`. The caller
   * keeps `fd` open and `data` unchanged until the promise settles.
   */
  write(fd: number, data: Buffer, position: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('disk writer closed'));
    if (!isShared(data)) return Promise.reject(new TypeError('DiskWriter.write needs a SharedArrayBuffer-backed buffer'));
    const written = thread.write(this, fd, data, position);
    this.inFlight++;
    const settled = () => {
      if (--this.inFlight === 0) this.idle?.();
    };
    written.then(settled, settled);
    return written;
  }

  /** Wait for this store's writes sent so far (not other stores'); later writes are refused. */
  close(): Promise<void> {
    return (this.closing ??= this.drainAndRelease());
  }

  private async drainAndRelease(): Promise<void> {
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((r) => (this.idle = r));
    this.idle = null;
    thread.release(this);
  }
}

/** For tests: the shared thread's state, a crash on demand, and the linger after the last store. */
export const writerThreadForTests = {
  get running(): boolean {
    return thread.running;
  },
  get started(): number {
    return thread.started;
  },
  kill: (): Promise<void> => thread.kill(),
  /** Returns the linger it replaces. */
  setLingerMs(ms: number): number {
    const before = thread.lingerMs;
    thread.lingerMs = ms;
    return before;
  },
};
