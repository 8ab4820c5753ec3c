/**
 * Fakes for the downloader's tests (test/download/): in-process PieceSources that serve, lie,
 * stall, fail or trickle and record every call, a hand-built Metainfo, and real PieceStores on
 * temp folders.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_DOWNLOADER_OPTIONS, type DownloaderOptions } from '../../src/download/downloader.ts';
import type { PieceSource } from '../../src/download/source.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { pieceSize, type Metainfo } from '../../src/metainfo/metainfo.ts';
import { PieceStore } from '../../src/storage/piece-store.ts';
import { storageFiles } from '../../src/storage/layout.ts';
import { tempDir } from '../support/procs.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A single-file Metainfo for `data`, built by hand (no .torrent needed). */
export function makeMeta(data: Buffer, pieceLength: number): Metainfo {
  const pieceCount = Math.ceil(data.length / pieceLength);
  const hashes: Buffer[] = [];
  for (let i = 0; i < pieceCount; i++) hashes.push(createHash('sha1').update(data.subarray(i * pieceLength, (i + 1) * pieceLength)).digest());
  const infoHash = randomBytes(20);
  return {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    announce: undefined,
    announceList: [],
    urlList: [],
    name: 'data.bin',
    pieceLength,
    pieceCount,
    pieces: Buffer.concat(hashes),
    length: data.length,
    multiFile: false,
    files: [{ path: [], length: data.length, offset: 0, pad: false }],
    private: false,
    rawInfo: Buffer.alloc(0),
  };
}

export type Mode = 'honest' | 'corrupt' | 'stall' | 'error';

export interface FakeOptions {
  id: string;
  /** Its remote address (default: a host name of its own, `<id>.test`). */
  address?: string;
  data: Buffer;
  meta: Metainfo;
  mode?: Mode;
  holds?: (piece: number) => boolean;
  maxBlock?: number;
  maxInFlight?: number;
  blocksPerPiece?: number;
  /** Delay before a block is answered (0: next turn of the event loop). */
  delayMs?: number;
  connectError?: string;
}

export interface Call {
  piece: number;
  begin: number;
  length: number;
  at: number;
}

/** A PieceSource in memory: serves `data`, or lies, stalls or fails, and records every call. */
export class FakeSource implements PieceSource {
  readonly id: string;
  readonly label: string;
  readonly address: string;
  readonly maxBlock: number;
  readonly maxInFlight: number;
  readonly blocksPerPiece: number | undefined;
  readonly calls: Call[] = [];
  readonly aborted: Call[] = [];
  readonly closes: boolean[] = [];
  /** Called on every abort of one of its requests (for ordering checks). */
  onAbort: ((c: Call) => void) | undefined;
  /** Called when a block request starts and when it settles. */
  onStart: ((c: Call) => void) | undefined;
  onSettle: ((c: Call) => void) | undefined;
  private readonly mode: Mode;

  constructor(private readonly o: FakeOptions) {
    this.id = o.id;
    this.label = o.id;
    this.address = o.address ?? `${o.id}.test`;
    this.mode = o.mode ?? 'honest';
    this.maxBlock = o.maxBlock ?? o.meta.pieceLength;
    this.maxInFlight = o.maxInFlight ?? 1;
    this.blocksPerPiece = o.blocksPerPiece;
  }

  async connect(): Promise<void> {
    if (this.o.connectError) throw new Error(this.o.connectError);
  }

  has(piece: number): boolean {
    return piece >= 0 && piece < this.o.meta.pieceCount && (this.o.holds ? this.o.holds(piece) : true);
  }

  fetchBlock(piece: number, begin: number, length: number, signal: AbortSignal): Promise<Buffer> {
    const call: Call = { piece, begin, length, at: Date.now() };
    this.calls.push(call);
    this.onStart?.(call);
    return new Promise<Buffer>((resolve, reject) => {
      let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
      const abort = () => {
        if (timer) {
          clearTimeout(timer as NodeJS.Timeout);
          clearImmediate(timer as NodeJS.Immediate);
        }
        this.aborted.push(call);
        this.onAbort?.(call);
        this.onSettle?.(call);
        reject(new Error('aborted'));
      };
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      if (this.mode === 'stall') return; // until aborted
      const answer = () => {
        signal.removeEventListener('abort', abort);
        this.onSettle?.(call);
        if (this.mode === 'error') return reject(new Error(`${this.id} failed`));
        const at = piece * this.o.meta.pieceLength + begin;
        const block = Buffer.from(this.o.data.subarray(at, at + length));
        if (this.mode === 'corrupt') block[block.length >> 1] = block[block.length >> 1]! ^ 0x5a;
        resolve(block);
      };
      timer = this.o.delayMs ? setTimeout(answer, this.o.delayMs) : setImmediate(answer);
    });
  }

  close(dropped?: boolean): void {
    this.closes.push(!!dropped);
  }
}

/**
 * A source that trickles: each block request gets one byte every `everyMs` (through
 * fetchBlockInto's onData, as a real transport reports them) and never completes.
 */
export class TrickleSource implements PieceSource {
  readonly label: string;
  readonly maxBlock: number;
  readonly maxInFlight = 2;
  readonly requested: number[] = [];
  aborted = 0;

  constructor(
    readonly id: string,
    readonly address: string,
    private readonly meta: Metainfo,
    private readonly holds: (piece: number) => boolean,
    private readonly everyMs = 50,
  ) {
    this.label = id;
    this.maxBlock = meta.pieceLength;
  }

  async connect(): Promise<void> {}

  has(piece: number): boolean {
    return this.holds(piece);
  }

  fetchBlock(): Promise<Buffer> {
    throw new Error('fetchBlockInto is used');
  }

  fetchBlockInto(piece: number, _begin: number, into: Buffer, signal: AbortSignal, onData?: (offset: number, length: number) => void): Promise<void> {
    this.requested.push(piece);
    return new Promise((_resolve, reject) => {
      let at = 0;
      const timer = setInterval(() => {
        if (at < into.length - 1) onData?.(at++, 1); // never the last byte
      }, this.everyMs);
      signal.addEventListener(
        'abort',
        () => {
          clearInterval(timer);
          this.aborted++;
          reject(new Error('aborted'));
        },
        { once: true },
      );
    });
  }

  close(): void {}
}

export interface Setup {
  data: Buffer;
  meta: Metainfo;
  store: PieceStore;
  have: Bitfield;
  remove(): Promise<void>;
}

export async function setup(pieces: number, pieceLength: number, lastPiece = pieceLength): Promise<Setup> {
  const data = randomBytes((pieces - 1) * pieceLength + lastPiece);
  const meta = makeMeta(data, pieceLength);
  const { dir, remove } = await tempDir('downloader-test-');
  const store = await PieceStore.openForWriting(storageFiles(meta, dir, '.part'));
  await startWriterThread(store);
  return {
    data,
    meta,
    store,
    have: new Bitfield(meta.pieceCount),
    async remove() {
      await store.close();
      await remove();
    },
  };
}

/**
 * Start the writer thread before a test times the downloader: under tsx the thread compiles its
 * module first, 0.5-2 s on a loaded machine (its first write, not the download, would otherwise
 * take that long). One boot per test file: the thread is the process's, shared by every store, and
 * outlives the last closed store by 2 s, so the next test's store finds it running (a no-op write
 * then). Writes back the byte already there: the file is unchanged.
 */
async function startWriterThread(store: PieceStore): Promise<void> {
  await store.write(0, await store.read(0, 1));
}

export function options(o: Partial<DownloaderOptions>): DownloaderOptions {
  return { ...DEFAULT_DOWNLOADER_OPTIONS, stallTimeoutMs: 5000, idleRecheckMs: 100, ...o };
}

export async function assertPieceEquals(s: Setup, piece: number): Promise<void> {
  const at = piece * s.meta.pieceLength;
  const size = pieceSize(s.meta, piece);
  assert.ok((await s.store.read(at, size)).equals(s.data.subarray(at, at + size)), `piece ${piece} on disk equals the original`);
}

export async function assertStoreEquals(s: Setup): Promise<void> {
  const got = await s.store.read(0, s.meta.length);
  assert.ok(got.equals(s.data), 'the bytes on disk equal the original');
}

/** Distinct pieces in the order of their first fetchBlock call. */
export function pieceOrder(src: FakeSource): number[] {
  const seen: number[] = [];
  for (const c of src.calls) if (!seen.includes(c.piece)) seen.push(c.piece);
  return seen;
}
