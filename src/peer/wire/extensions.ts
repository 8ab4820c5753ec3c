/**
 * BEP 10 extension protocol: the handshake dictionary both ways, pure. Message id 20 carries a
 * sub-id: 0 is the handshake; other sub-ids are the *receiver's* numbers for an extension, from
 * the `m` dict it sent. The payload is decoded by our bounded decoder (never the `bencode`
 * package's) with tight limits: a handshake is a few hundred bytes.
 */
import { decode, encode, isBytes, isDict, isInt, type BValue } from '../../metainfo/bencode.ts';
import { WireError } from './messages.ts';

/** Our numbers for the extensions we speak (peers send them to us with these sub-ids). */
export const OUR_EXTENSIONS = { ut_pex: 1, ut_metadata: 2, upload_only: 3 } as const;
export type ExtensionName = keyof typeof OUR_EXTENSIONS;

export const EXTENDED_HANDSHAKE_ID = 0;
/** Client name sent as `v` (BEP 10). */
export const CLIENT_NAME = 'p2p-bittorrent 0.1';
const LIMITS = { maxDepth: 8, maxTokens: 2_000 };
const MAX_NAMES = 64;

export interface ExtHandshake {
  /** Extension name -> the sub-id the peer wants for it (0 = it dropped it). */
  m: Map<string, number>;
  /** Client name and version, for people. */
  v?: string;
  /** Requests it keeps queued for us (libtorrent: 500). */
  reqq?: number;
  /** Its listen port, when it dialled us. */
  p?: number;
  /** BEP 21: it only uploads (a seed or a partial seed). */
  uploadOnly: boolean;
  /** BEP 9: the size of the info dict it can serve (bounded by whoever fetches it). */
  metadataSize?: number;
}

export interface OurHandshake {
  uploadOnly: boolean;
  reqq: number;
  /** Our listen port. */
  port?: number;
  /** The peer's address as we see it, 4 or 16 bytes. */
  yourip?: Buffer;
  /** BEP 27: a private torrent's peers come from its tracker only, so no ut_pex is offered. */
  privateTorrent?: boolean;
  /** BEP 9: the size of the info dict we serve over ut_metadata. */
  metadataSize?: number;
}

export function encodeExtHandshake(o: OurHandshake): Buffer {
  const m: Partial<Record<ExtensionName, number>> = { ...OUR_EXTENSIONS };
  if (o.privateTorrent) delete m.ut_pex;
  return encode({
    m,
    metadata_size: o.metadataSize,
    p: o.port,
    reqq: o.reqq,
    upload_only: o.uploadOnly ? 1 : 0,
    v: CLIENT_NAME,
    yourip: o.yourip,
  });
}

function text(v: BValue | undefined, max: number): string | undefined {
  return isBytes(v) && v.length <= max ? v.toString('utf8') : undefined;
}

function smallInt(v: BValue | undefined, max: number): number | undefined {
  return isInt(v) && v >= 0 && v <= max ? v : undefined;
}

/** Decode a peer's handshake dictionary; anything that is not a dict is a WireError. */
export function decodeExtHandshake(payload: Buffer): ExtHandshake {
  let d: BValue;
  try {
    d = decode(payload, LIMITS);
  } catch (e) {
    throw new WireError(`bad extension handshake: ${(e as Error).message}`);
  }
  if (!isDict(d)) throw new WireError('extension handshake is not a dictionary');
  const m = new Map<string, number>();
  const names = isDict(d['m']) ? Object.entries(d['m']) : [];
  if (names.length > MAX_NAMES) throw new WireError(`extension handshake names ${names.length} extensions`);
  for (const [name, id] of names) {
    const n = smallInt(id, 255);
    if (n !== undefined && name.length <= 64) m.set(name, n);
  }
  return {
    m,
    v: text(d['v'], 100),
    reqq: smallInt(d['reqq'], 100_000),
    p: smallInt(d['p'], 65535),
    uploadOnly: (smallInt(d['upload_only'], 2 ** 31) ?? 0) !== 0,
    metadataSize: smallInt(d['metadata_size'], Number.MAX_SAFE_INTEGER),
  };
}

/** A BEP 21 `upload_only` message body: one byte, 1 when we only upload. */
export function encodeUploadOnly(yes: boolean): Buffer {
  return Buffer.from([yes ? 1 : 0]);
}

export function decodeUploadOnly(payload: Buffer): boolean {
  if (payload.length < 1) throw new WireError('empty upload_only message');
  return payload[0] !== 0;
}
