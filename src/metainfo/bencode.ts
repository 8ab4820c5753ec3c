/**
 * Bencode (BEP 3).
 *
 * Encoding uses the `bencode` package. Decoding of anything that comes from outside (torrents,
 * tracker responses, extension messages) uses the bounded decoder below, because the package's
 * decoder loops forever on `l-3:`, accepts `i03e`, truncates `4:ab`, lets `__proto__` replace a
 * prototype and cannot give the byte span of `info`.
 *
 * Decoded values:
 *   byte string -> Buffer (a view into the input; copy it if the input is reused)
 *   integer     -> number (only safe integers; anything larger is rejected)
 *   list        -> BList
 *   dictionary  -> BDict, a null-prototype object whose keys are the raw key bytes as `latin1`
 *                  strings (one char per byte, so binary keys stay exact and ASCII keys read
 *                  naturally: `dict['piece length']`).
 */
import bencodePkg from 'bencode';

export type BValue = Buffer | number | BList | BDict;
export type BList = BValue[];
export interface BDict {
  [key: string]: BValue | undefined;
}

export class BencodeError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`invalid bencode at byte ${offset}: ${message}`);
    this.name = 'BencodeError';
  }
}

export interface DecodeLimits {
  /** Maximum nesting of lists and dictionaries (libtorrent uses 100). */
  maxDepth: number;
  /** Maximum number of values in the whole document. */
  maxTokens: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxDepth: 100, maxTokens: 4_000_000 };

/** Byte ranges [start, end) of the values of the top-level dictionary, by latin1 key. */
export type TopLevelSpans = Map<string, { start: number; end: number }>;

export interface Decoded {
  value: BValue;
  /** Byte spans of each top-level dictionary value (empty if the top level is not a dict). */
  spans: TopLevelSpans;
}

const C_I = 0x69; // i
const C_L = 0x6c; // l
const C_D = 0x64; // d
const C_E = 0x65; // e
const C_COLON = 0x3a;
const C_MINUS = 0x2d;
const C_0 = 0x30;
const C_9 = 0x39;
// More digits than this cannot be a safe integer or a length that fits in memory.
const MAX_DIGITS = 16;

/** Decode a complete bencoded document. Trailing bytes are an error. */
export function decode(input: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): BValue {
  return decodeWithSpans(input, limits).value;
}

/** Decode a complete document and report the byte spans of the top-level dict's values. */
export function decodeWithSpans(input: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): Decoded {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const spans: TopLevelSpans = new Map();
  const d = new Decoder(buf, limits, spans);
  if (buf.length === 0) throw new BencodeError('empty input', 0);
  const value = d.value(0);
  if (d.pos !== buf.length) throw new BencodeError('trailing data after the value', d.pos);
  return { value, spans };
}

class Decoder {
  pos = 0;
  private tokens = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly limits: DecodeLimits,
    private readonly spans: TopLevelSpans,
  ) {}

  value(depth: number): BValue {
    if (++this.tokens > this.limits.maxTokens) throw new BencodeError('too many values', this.pos);
    const c = this.buf[this.pos];
    if (c === undefined) throw new BencodeError('unexpected end of input', this.pos);
    if (c === C_I) return this.integer();
    if (c >= C_0 && c <= C_9) return this.string();
    if (c === C_L || c === C_D) {
      if (depth >= this.limits.maxDepth) throw new BencodeError(`nesting deeper than ${this.limits.maxDepth}`, this.pos);
      return c === C_L ? this.list(depth + 1) : this.dict(depth + 1);
    }
    throw new BencodeError(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`, this.pos);
  }

  /** Reads digits up to `terminator`; canonical form only (no leading zeros, no -0). */
  private digits(terminator: number, allowMinus: boolean): number {
    const start = this.pos;
    let negative = false;
    if (allowMinus && this.buf[this.pos] === C_MINUS) {
      negative = true;
      this.pos++;
    }
    const first = this.pos;
    let n = 0;
    for (;;) {
      const c = this.buf[this.pos];
      if (c === undefined) throw new BencodeError('unexpected end of input in a number', this.pos);
      if (c === terminator) break;
      if (c < C_0 || c > C_9) throw new BencodeError('invalid character in a number', this.pos);
      if (this.pos - first >= MAX_DIGITS) throw new BencodeError('number too large', start);
      n = n * 10 + (c - C_0);
      this.pos++;
    }
    const len = this.pos - first;
    if (len === 0) throw new BencodeError('empty number', start);
    if (this.buf[first] === C_0 && (len > 1 || negative)) throw new BencodeError('non-canonical number', start);
    if (!Number.isSafeInteger(n)) throw new BencodeError('number too large', start);
    this.pos++; // terminator
    return negative ? -n : n;
  }

  private integer(): number {
    this.pos++; // 'i'
    return this.digits(C_E, true);
  }

  private string(): Buffer {
    const at = this.pos;
    const len = this.digits(C_COLON, false);
    if (len > this.buf.length - this.pos) {
      throw new BencodeError(`string of ${len} bytes but only ${this.buf.length - this.pos} remain`, at);
    }
    const s = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  private list(depth: number): BList {
    this.pos++; // 'l'
    const out: BList = [];
    while (this.buf[this.pos] !== C_E) {
      if (this.pos >= this.buf.length) throw new BencodeError('unterminated list', this.pos);
      out.push(this.value(depth));
    }
    this.pos++;
    return out;
  }

  private dict(depth: number): BDict {
    const topLevel = depth === 1;
    this.pos++; // 'd'
    const out: BDict = Object.create(null) as BDict;
    while (this.buf[this.pos] !== C_E) {
      if (this.pos >= this.buf.length) throw new BencodeError('unterminated dictionary', this.pos);
      const keyAt = this.pos;
      const c = this.buf[this.pos]!;
      if (c < C_0 || c > C_9) throw new BencodeError('dictionary key is not a string', this.pos);
      const key = this.string().toString('latin1');
      // Unsorted keys are tolerated (old tools wrote them); duplicates are ambiguous, so refused.
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new BencodeError('duplicate dictionary key', keyAt);
      const start = this.pos;
      out[key] = this.value(depth);
      if (topLevel) this.spans.set(key, { start, end: this.pos });
    }
    this.pos++;
    return out;
  }
}

// ---- typed accessors for decoded values (used by every parser of external data) ----

export function isDict(v: BValue | undefined): v is BDict {
  return v !== undefined && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

export function isList(v: BValue | undefined): v is BList {
  return Array.isArray(v);
}

export function isBytes(v: BValue | undefined): v is Buffer {
  return Buffer.isBuffer(v);
}

export function isInt(v: BValue | undefined): v is number {
  return typeof v === 'number';
}

// ---- encoding ----

type Encodable = Buffer | Uint8Array | string | number | Encodable[] | { [key: string]: Encodable | undefined };

/** Encode with the `bencode` package (dict keys sorted; `undefined` values are skipped). */
export function encode(value: Encodable): Buffer {
  const out = bencodePkg.encode(value);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Encode a dictionary whose keys are binary (e.g. 20-byte info_hashes in a scrape answer).
 * The package sorts Map keys as UTF-8 text, which misorders binary keys; BEP 3 wants raw byte order.
 */
export function encodeBinaryKeyDict(entries: Array<[Buffer, Encodable]>): Buffer {
  const sorted = [...entries].sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts: Buffer[] = [Buffer.from('d')];
  for (const [k, v] of sorted) parts.push(Buffer.from(`${k.length}:`), k, encode(v));
  parts.push(Buffer.from('e'));
  return Buffer.concat(parts);
}
