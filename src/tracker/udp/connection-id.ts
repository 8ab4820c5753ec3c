/**
 * BEP 15 connection ids that hold no state per client: a keyed MAC (SipHash-2-4, siphash.ts) over
 * (time window, client port, client address), 8 bytes. Any process holding the key (`--secret`)
 * checks an id another minted, and a flood of connects costs no memory. Pure apart from the
 * random key.
 *
 * The id's top bit carries the parity of its window (the other 63 bits are MAC), so checking an
 * id costs one MAC, not one per window accepted: the parity says which of the two it is from.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { sipKey, siphash24, type SipKey } from './siphash.ts';

/** One window of ids: an id is accepted in its window and the next, 2 to 4 minutes in all. */
export const WINDOW_MS = 120_000;
/** The longest address text hashed (an IPv6 address with a zone is under 64 characters). */
const MAX_ADDRESS = 100;

export class ConnectionIds {
  private readonly key: SipKey;
  /** (window, port, address) as hashed, and a MAC: reused, as every call finishes with them before returning. */
  private readonly input = Buffer.alloc(6 + MAX_ADDRESS);
  private readonly expected = Buffer.alloc(8);

  /**
   * @param secret shared by every process of one tracker; null: 16 random bytes, this process only.
   * The secret is not the key itself: the key is derived from it (HMAC-SHA256, once), so the same
   * operator secret may key other things without their MACs being interchangeable.
   */
  constructor(secret: string | null) {
    const key = secret === null ? randomBytes(16) : createHmac('sha256', secret).update('bep15 connection id').digest().subarray(0, 16);
    this.key = sipKey(key);
  }

  /** A new id for the client at `address`:`port` (as the socket reports them), valid from `nowMs`. */
  mint(address: string, port: number, nowMs: number): Buffer {
    const id = Buffer.allocUnsafe(8);
    this.mac(windowOf(nowMs), address, port, id);
    return id;
  }

  /** Whether `id` was minted for this client in the current window or the one before. */
  verify(id: Uint8Array, address: string, port: number, nowMs: number): boolean {
    if (id.length !== 8) return false;
    const now = windowOf(nowMs);
    const window = (now & 1) === id[0]! >>> 7 ? now : now - 1;
    const expected = this.expected;
    this.mac(window, address, port, expected);
    // Every byte compared whatever the first difference (no timing oracle on the MAC).
    let diff = 0;
    for (let i = 0; i < 8; i++) diff |= expected[i]! ^ id[i]!;
    return diff === 0;
  }

  private mac(window: number, address: string, port: number, out: Buffer): void {
    const input = this.input;
    input.writeUInt32BE(window >>> 0, 0);
    input.writeUInt16BE(port & 0xffff, 4);
    // An IPv4 client is the same client to an IPv4 and a dual-stack socket (`::ffff:1.2.3.4`):
    // hosts of one tracker behind one name may bind either.
    const mapped = address.startsWith('::ffff:') && address.includes('.');
    const n = input.write(mapped ? address.slice(7) : address, 6, MAX_ADDRESS, 'latin1');
    siphash24(this.key, input, 6 + n, out);
    out[0] = (out[0]! & 0x7f) | ((window & 1) << 7);
  }
}

export function windowOf(nowMs: number): number {
  return Math.floor(nowMs / WINDOW_MS);
}
