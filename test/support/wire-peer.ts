/**
 * Test support for the wire protocol: a hand-driven BitTorrent client (RawPeer) over loopback,
 * and a seeding PeerNode fixture with a ~1 MiB random torrent (64 KiB pieces).
 */
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import {
  BLOCK_SIZE,
  decodeHandshake,
  encode,
  encodeHandshake,
  HANDSHAKE_LENGTH,
  MessageParser,
  type Handshake,
  type Message,
} from '../../src/peer/wire/messages.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import { makeTorrent as makeSingleFileTorrent } from '../../src/metainfo/create.ts';
import { parseMetainfo, pieceSize, type Metainfo } from '../../src/metainfo/metainfo.ts';
import { PieceStore } from '../../src/storage/piece-store.ts';
import { storageFiles } from '../../src/storage/layout.ts';
import { tempDir } from './procs.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until<T>(f: () => T, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v as NonNullable<T>;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export function clientPeerId(): Buffer {
  return Buffer.concat([Buffer.from('-TT0001-', 'latin1'), randomBytes(12)]);
}

/** A BitTorrent client written by hand: raw socket, our own framing, every message recorded. */
export class RawPeer {
  readonly messages: Message[] = [];
  handshake: Handshake | undefined;
  bytesIn = 0;
  closed = false;
  parseError: Error | undefined;
  private pre = Buffer.alloc(0);
  private readonly parser = new MessageParser({ maxMessage: 1 << 20 });
  private readonly listeners = new Set<() => void>();

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  /** Connect, send our handshake (plus `then` in the same write) and wait for the answer. */
  static async handshaked(port: number, infoHash: Buffer, then: Message[] = [], reserved?: Buffer): Promise<RawPeer> {
    const p = await RawPeer.connect(port);
    p.write(encodeHandshake(infoHash, clientPeerId(), reserved));
    await p.waitFor(() => p.handshake, 5000, 'the handshake answer');
    if (then.length) p.send(...then);
    return p;
  }

  private onData(c: Buffer): void {
    this.bytesIn += c.length;
    try {
      if (!this.handshake) {
        this.pre = Buffer.concat([this.pre, c]);
        if (this.pre.length < HANDSHAKE_LENGTH) return;
        this.handshake = decodeHandshake(this.pre);
        c = this.pre.subarray(HANDSHAKE_LENGTH);
      }
      this.messages.push(...this.parser.push(c));
    } catch (e) {
      this.parseError = e as Error;
      this.socket.destroy();
    }
    this.notify();
  }

  private notify(): void {
    for (const f of [...this.listeners]) f();
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  send(...ms: Message[]): void {
    this.write(Buffer.concat(ms.map(encode)));
  }

  /** Resolve once `f()` is truthy (checked on every data/close event), reject after `ms`. */
  waitFor<T>(f: () => T, ms: number, what: string): Promise<NonNullable<T>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v: T;
        try {
          v = f();
        } catch (e) {
          finish();
          return reject(e as Error);
        }
        if (v) {
          finish();
          resolve(v as NonNullable<T>);
        } else if (this.closed) {
          finish();
          reject(new Error(`connection closed while waiting for ${what}`));
        }
      };
      const finish = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.listeners.add(check);
      check();
    });
  }

  pieces(): Array<Extract<Message, { type: 'piece' }>> {
    return this.messages.filter((m): m is Extract<Message, { type: 'piece' }> => m.type === 'piece');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface Seed {
  dir: string;
  data: Buffer;
  meta: Metainfo;
  store: PieceStore;
  node: PeerNode;
  remove(): Promise<void>;
}

export const PIECE = 64 * 1024;
// 16 full pieces and a short last one of 20,000 bytes (one 16 KiB block and one of 3,616).
export const LENGTH = 16 * PIECE + 20_000;

export async function makeSeed(): Promise<Seed> {
  const { dir, remove } = await tempDir('wire-test-');
  const data = randomBytes(LENGTH);
  const file = path.join(dir, 'data.bin');
  await writeFile(file, data);
  const meta = parseMetainfo(await makeSingleFileTorrent(file, 'data.bin', { announce: 'http://127.0.0.1:1/announce', pieceLength: PIECE }));
  const store = await PieceStore.openForReading(storageFiles(meta, dir));
  const node = new PeerNode();
  node.share({ meta, store, have: Bitfield.full(meta.pieceCount) });
  await node.listen(0, '127.0.0.1');
  return {
    dir,
    data,
    meta,
    store,
    node,
    async remove() {
      await node.close();
      await store.close();
      await remove();
    },
  };
}

export function expected(seed: Seed, index: number, begin: number, length: number): Buffer {
  const at = index * seed.meta.pieceLength + begin;
  return seed.data.subarray(at, at + length);
}

/** Every block of the torrent, 16 KiB each except the last of the last piece. */
export function allBlocks(meta: Metainfo): Array<{ index: number; begin: number; length: number }> {
  const out = [];
  for (let index = 0; index < meta.pieceCount; index++) {
    const size = pieceSize(meta, index);
    for (let begin = 0; begin < size; begin += BLOCK_SIZE) out.push({ index, begin, length: Math.min(BLOCK_SIZE, size - begin) });
  }
  return out;
}

export function httpGet(port: number, p: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

