/**
 * Fetching the info dictionary from one peer (BEP 9 over BEP 10) on a short-lived connection of
 * its own: handshake, extension handshake, ut_metadata requests, nothing else (bitfields, haves
 * and the like are read and ignored). Every wait has a deadline; the peer's metadata_size is
 * bounded before anything is allocated; the bytes are used only once SHA-1 equals the info hash.
 * Whatever goes wrong ends this connection only, with a MetadataPeerError saying why.
 */
import { createHash } from 'node:crypto';
import { openWire } from '../peer/wire/dial.ts';
import { encode as encodeMessage, hasFeature, type Message } from '../peer/wire/messages.ts';
import { MessageParser } from '../peer/wire/message-parser.ts';
import { decodeExtHandshake, encodeExtHandshake, EXTENDED_HANDSHAKE_ID, OUR_EXTENSIONS } from '../peer/wire/extensions.ts';
import { decodeUtMetadata, encodeUtMetadata, MAX_METADATA_SIZE, METADATA_PIECE, metadataPieceCount, metadataPieceLength } from '../peer/wire/ut-metadata.ts';
import type { PeerSocket } from '../peer/wire/peer-socket.ts';
import type { EncryptionPolicy } from '../peer/transport-options.ts';
import type { MagnetPeer } from '../magnet/magnet-uri.ts';

/** The peer's extension handshake comes right after its handshake in every client we know. */
const EXT_HANDSHAKE_WAIT_MS = 5_000;
/** Longest silence while a metadata piece is due. */
const PIECE_WAIT_MS = 10_000;
const IN_FLIGHT = 16;
/** Bitfields of large torrents are the longest messages before the metadata. */
const MAX_MESSAGE = 256 * 1024;

/** Why one peer gave no metadata; `lied` when it sent something false (not just nothing). */
export class MetadataPeerError extends Error {
  constructor(
    message: string,
    readonly lied = false,
  ) {
    super(message);
  }
}

export interface MetadataPeerOptions {
  infoHash: Buffer;
  peerId: Buffer;
  /** Our listen port, told to the peer (`p`). */
  listenPort: number;
  encryption: EncryptionPolicy;
  signal: AbortSignal;
  /** Refuse a metadata_size above this (default 16 MiB). */
  maxSize?: number;
}

/** Connect to `peer` and fetch the verified info dict (its exact bytes). */
export async function fetchMetadataFrom(peer: MagnetPeer, o: MetadataPeerOptions): Promise<Buffer> {
  const { socket, hs, rest } = await openWire(peer.ip, peer.port, o.infoHash, o.peerId, { encryption: o.encryption, transport: 'tcp', signal: o.signal });
  try {
    if (!hasFeature(hs.reserved, 'extensions')) throw new MetadataPeerError('it does not speak the extension protocol (BEP 10)');
    return await new MetadataExchange(socket, o, hasFeature(hs.reserved, 'fast')).run(rest);
  } finally {
    socket.destroy();
  }
}

class MetadataExchange {
  private readonly parser = new MessageParser({ maxMessage: MAX_MESSAGE });
  private theirId = 0;
  private size = 0;
  private info: Buffer | undefined;
  private next = 0;
  private received = 0;
  private readonly pending = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private settle!: (err: Error | null, info?: Buffer) => void;

  constructor(
    private readonly socket: PeerSocket,
    private readonly o: MetadataPeerOptions,
    private readonly fast: boolean,
  ) {}

  run(first: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = () => this.settle(new MetadataPeerError('stopped'));
      const onData = (c: Buffer) => this.feed(c);
      const onEnd = () => this.settle(new MetadataPeerError('it closed the connection'));
      this.settle = (err, info) => {
        clearTimeout(this.timer);
        this.o.signal.removeEventListener('abort', onAbort);
        this.socket.off('data', onData).off('close', onEnd).off('error', onEnd);
        this.settle = () => {};
        if (err) reject(err);
        else resolve(info!);
      };
      if (this.o.signal.aborted) return onAbort();
      this.o.signal.addEventListener('abort', onAbort);
      this.socket.on('data', onData).on('close', onEnd).on('error', onEnd);
      // BEP 6: with the fast extension the first message says what we hold: nothing.
      if (this.fast) this.send({ type: 'have-none' });
      this.send({ type: 'extended', id: EXTENDED_HANDSHAKE_ID, payload: encodeExtHandshake({ uploadOnly: false, reqq: 250, port: this.o.listenPort }) });
      this.deadline(EXT_HANDSHAKE_WAIT_MS, 'no extension handshake');
      if (first.length) this.feed(first);
      this.socket.resume();
    });
  }

  private send(m: Message): void {
    this.socket.write(encodeMessage(m));
  }

  private deadline(ms: number, what: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.settle(new MetadataPeerError(`${what} within ${ms / 1000} s`)), ms);
  }

  private feed(chunk: Buffer): void {
    try {
      this.parser.feed(chunk, (m) => {
        if (m.type === 'extended') this.onExtended(m.id, m.payload);
      });
    } catch (e) {
      // A WireError from the framing or from a message: the peer sent junk.
      this.settle(e instanceof MetadataPeerError ? e : new MetadataPeerError((e as Error).message, true));
    }
  }

  private onExtended(id: number, payload: Buffer): void {
    if (id === EXTENDED_HANDSHAKE_ID) return this.onHandshake(payload);
    if (id === OUR_EXTENSIONS.ut_metadata && this.info) this.onMetadata(payload);
  }

  private onHandshake(payload: Buffer): void {
    if (this.info) return; // a later handshake may update other things; the size stays as first said
    const h = decodeExtHandshake(payload);
    const id = h.m.get('ut_metadata');
    const max = this.o.maxSize ?? MAX_METADATA_SIZE;
    if (!id) throw new MetadataPeerError('it does not serve metadata (no ut_metadata)');
    if (h.metadataSize === undefined || h.metadataSize === 0) throw new MetadataPeerError('it has no metadata to give (no metadata_size)');
    if (h.metadataSize > max) throw new MetadataPeerError(`its metadata_size ${h.metadataSize} is over the bound of ${max} bytes`, true);
    this.theirId = id;
    this.size = h.metadataSize;
    this.info = Buffer.alloc(this.size);
    this.requestMore();
  }

  private requestMore(): void {
    const count = metadataPieceCount(this.size);
    while (this.pending.size < IN_FLIGHT && this.next < count) {
      this.pending.add(this.next);
      this.send({ type: 'extended', id: this.theirId, payload: encodeUtMetadata({ type: 'request', piece: this.next++ }) });
    }
    this.deadline(PIECE_WAIT_MS, 'no metadata piece');
  }

  private onMetadata(payload: Buffer): void {
    const m = decodeUtMetadata(payload);
    if (m.type === 'unknown') return;
    // It may ask us too: we have nothing yet (BEP 9: say so rather than leave it waiting).
    if (m.type === 'request') return this.send({ type: 'extended', id: this.theirId, payload: encodeUtMetadata({ type: 'reject', piece: m.piece }) });
    if (!this.pending.has(m.piece)) throw new MetadataPeerError(`it sent metadata piece ${m.piece}, which we did not ask for`, true);
    if (m.type === 'reject') throw new MetadataPeerError(`it refused metadata piece ${m.piece}`);
    if (m.totalSize !== this.size) throw new MetadataPeerError(`it sent total_size ${m.totalSize} after metadata_size ${this.size}`, true);
    const want = metadataPieceLength(this.size, m.piece);
    if (m.data.length !== want) throw new MetadataPeerError(`it sent ${m.data.length} bytes of metadata piece ${m.piece}, not ${want}`, true);
    m.data.copy(this.info!, m.piece * METADATA_PIECE);
    this.pending.delete(m.piece);
    if (++this.received < metadataPieceCount(this.size)) return this.requestMore();
    const hash = createHash('sha1').update(this.info!).digest();
    if (!hash.equals(this.o.infoHash)) throw new MetadataPeerError(`its metadata does not match the info hash (SHA-1 ${hash.toString('hex')})`, true);
    this.settle(null, this.info);
  }
}
