/**
 * What one wire peer holds (its bitfield, HAVEs, BEP 6 have_all/have_none) and whether it holds
 * anything we lack: BEP 3 interest. Interest is recomputed with a byte scan (peer & ~ours), only
 * when it can change, so it never drifts however HAVEs and our own verifications interleave.
 */
import { Bitfield } from '../../bittorrent/bitfield.ts';
import { WireError } from './messages.ts';

export class PeerPieces {
  readonly have: Bitfield;
  /** Did the peer say what it holds yet (bitfield, have_all, have_none)? */
  announced = false;

  constructor(
    private readonly pieceCount: number,
    /** Our own pieces (the torrent's shared bitfield). */
    private readonly ours: Bitfield,
  ) {
    this.have = new Bitfield(pieceCount);
  }

  /** A HAVE; returns true when it is a piece we lack. */
  add(index: number): boolean {
    if (index >= this.pieceCount) throw new WireError(`have for piece ${index} of ${this.pieceCount}`);
    this.have.set(index);
    return !this.ours.has(index);
  }

  setBitfield(bytes: Buffer): void {
    let bits: Bitfield;
    try {
      bits = new Bitfield(this.pieceCount, bytes);
    } catch (e) {
      throw new WireError((e as Error).message);
    }
    for (let i = 0; i < this.pieceCount; i++) if (bits.has(i)) this.have.set(i);
  }

  setAll(): void {
    for (let i = 0; i < this.pieceCount; i++) this.have.set(i);
  }

  /** Does the peer hold any piece we lack? */
  wantsAny(): boolean {
    const p = this.have.bytes;
    const o = this.ours.bytes;
    for (let i = 0; i < p.length; i++) if ((p[i]! & ~o[i]!) !== 0) return true;
    return false;
  }

  get seed(): boolean {
    return this.have.complete;
  }
}
