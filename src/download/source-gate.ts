/**
 * The gate every new source passes, and the table of sources it let in: bans by address prefix
 * (IPv4 /32, IPv6 /64, host name) and limits on sources in use, in all and per prefix. A prefix
 * is banned when a piece that came whole from there failed its hash, whatever peer_id or port it
 * comes back with.
 */
import { addressPrefix } from '../bittorrent/address.ts';
import type { PieceSource } from './source.ts';
import { newSourceState, type SourceState } from './source-state.ts';

export interface GateLimits {
  /** Most sources in use at once. */
  maxSources: number;
  /** Most sources in use at once from one address prefix. */
  maxSourcesPerAddress: number;
}

export class SourceGate {
  /** id -> its latest state (dropped ones stay, for contributions()). */
  private readonly sources = new Map<string, SourceState>();
  /** Address prefixes that sent a piece that failed its hash. */
  private readonly banned = new Set<string>();
  /** piece -> the banned prefixes that sent it bad (for the stall message). */
  private readonly failedBy = new Map<number, Set<string>>();
  /** Live (admitted, not yet released) sources in total and per address prefix. */
  private count = 0;
  private readonly perPrefix = new Map<string, number>();

  constructor(private readonly limits: GateLimits) {}

  get liveCount(): number {
    return this.count;
  }

  /** Why a new source at `address` would be refused, or undefined. */
  refusal(address: string): string | undefined {
    const prefix = addressPrefix(address);
    if (this.banned.has(prefix)) return `${prefix} is banned (it sent data that failed its SHA-1 check)`;
    if (this.count >= this.limits.maxSources) return `already ${this.count} sources`;
    if ((this.perPrefix.get(prefix) ?? 0) >= this.limits.maxSourcesPerAddress) return `already ${this.limits.maxSourcesPerAddress} sources at ${prefix}`;
    return undefined;
  }

  isBanned(address: string): boolean {
    return this.banned.has(addressPrefix(address));
  }

  /** Let `source` in: its new state, or undefined if refused or already in use. */
  admit(source: PieceSource): SourceState | undefined {
    if (this.refusal(source.address) !== undefined) return undefined;
    const existing = this.sources.get(source.id);
    if (existing && !existing.dropped) return undefined;
    const state = newSourceState(source, addressPrefix(source.address), existing);
    this.sources.set(source.id, state);
    this.count++;
    this.perPrefix.set(state.prefix, (this.perPrefix.get(state.prefix) ?? 0) + 1);
    return state;
  }

  /** Mark `state` dropped: its place is free. False if it was already. */
  release(state: SourceState): boolean {
    if (state.dropped) return false;
    state.dropped = true;
    this.count--;
    const n = (this.perPrefix.get(state.prefix) ?? 1) - 1;
    if (n > 0) this.perPrefix.set(state.prefix, n);
    else this.perPrefix.delete(state.prefix);
    return true;
  }

  has(id: string): boolean {
    const s = this.sources.get(id);
    return !!s && !s.dropped;
  }

  /** The sources in use. */
  live(): SourceState[] {
    return [...this.sources.values()].filter((s) => !s.dropped);
  }

  /** Every state, dropped ones too. */
  all(): IterableIterator<SourceState> {
    return this.sources.values();
  }

  /** Verified pieces and bytes per source label. */
  contributions(): Map<string, { pieces: number; bytes: number }> {
    const m = new Map<string, { pieces: number; bytes: number }>();
    for (const s of this.sources.values()) {
      const c = m.get(s.source.label) ?? { pieces: 0, bytes: 0 };
      m.set(s.source.label, { pieces: c.pieces + s.pieces, bytes: c.bytes + s.bytes });
    }
    return m;
  }

  /** `prefix` sent `piece` and it failed its hash: banned from now on. */
  ban(prefix: string, piece: number): void {
    let by = this.failedBy.get(piece);
    if (!by) this.failedBy.set(piece, (by = new Set()));
    by.add(prefix);
    this.banned.add(prefix);
  }

  /** For the stall message: `no peer has piece 7 (nor 3 other pieces)`; undefined when each missing piece is held by a live source. */
  unheldReason(pieceCount: number, isDone: (piece: number) => boolean): string | undefined {
    const live = this.live();
    let first = -1;
    let count = 0;
    for (let i = 0; i < pieceCount; i++) {
      if (isDone(i) || live.some((s) => s.source.has(i))) continue;
      if (first < 0) first = i;
      count++;
    }
    if (count === 0) return undefined;
    const others = count - 1;
    return `no peer has piece ${first}${others > 0 ? ` (nor ${others} other ${others === 1 ? 'piece' : 'pieces'})` : ''}`;
  }

  /** For the stall message: a missing piece that failed its hash and no live source holds. */
  poisonedPiece(isDone: (piece: number) => boolean): string {
    for (const [piece, by] of this.failedBy) {
      if (isDone(piece) || this.live().some((s) => s.source.has(piece))) continue;
      return ` (piece ${piece} failed its SHA-1 check from every peer that had it: ${[...by].join(', ')} banned)`;
    }
    return '';
  }
}
