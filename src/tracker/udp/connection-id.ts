/**
 * BEP 15 connection ids that hold no state per client: an HMAC-SHA256 over (time window, client
 * port, client address), cut to 8 bytes. Any process holding the key (`--secret`) checks an id
 * another minted, and a flood of connects costs no memory. Pure apart from the random key.
 *
 * The id's top bit carries the parity of its window (the other 63 bits are MAC), so checking an
 * id costs one HMAC, not one per window accepted: the parity says which of the two it is from.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** One window of ids: an id is accepted in its window and the next, 2 to 4 minutes in all. */
export const WINDOW_MS = 120_000;
/** The longest address text hashed (an IPv6 address with a zone is under 64 characters). */
const MAX_ADDRESS = 100;

export class ConnectionIds {
  private readonly key: Buffer;
  /** (window, port, address) as hashed: reused, as every call finishes with it before returning. */
  private readonly input = Buffer.alloc(6 + MAX_ADDRESS);

  /**
   * @param secret shared by every process of one tracker; null: 32 random bytes, this process only.
   * The secret is not used as the key itself, but to derive it: the same operator secret may key
   * other things without their MACs being interchangeable.
   */
  constructor(secret: string | null) {
    this.key = secret === null ? randomBytes(32) : createHmac('sha256', secret).update('bep15 connection id').digest();
  }

  /** A new id for the client at `address`:`port` (as the socket reports them), valid from `nowMs`. */
  mint(address: string, port: number, nowMs: number): Buffer {
    return this.mac(windowOf(nowMs), address, port);
  }

  /** Whether `id` was minted for this client in the current window or the one before. */
  verify(id: Buffer, address: string, port: number, nowMs: number): boolean {
    if (id.length !== 8) return false;
    const now = windowOf(nowMs);
    const window = (now & 1) === id[0]! >>> 7 ? now : now - 1;
    return timingSafeEqual(this.mac(window, address, port), id);
  }

  private mac(window: number, address: string, port: number): Buffer {
    const input = this.input;
    input.writeUInt32BE(window >>> 0, 0);
    input.writeUInt16BE(port & 0xffff, 4);
    const n = input.write(address, 6, MAX_ADDRESS, 'latin1');
    const id = createHmac('sha256', this.key).update(input.subarray(0, 6 + n)).digest().subarray(0, 8);
    id[0] = (id[0]! & 0x7f) | ((window & 1) << 7);
    return id;
  }
}

export function windowOf(nowMs: number): number {
  return Math.floor(nowMs / WINDOW_MS);
}
