/**
 * What one PEX message to one peer says (BEP 11), pure: the difference between the peers we told
 * it of so far and the peers we are connected to now, at most MAX_PEX_SEND of each kind. Peers
 * left over go in the next message, so `told` is updated with what was actually sent.
 */
import { MAX_PEX_SEND, type PexMessage, type PexPeer } from './wire/pex.ts';

/** One key per listen address (`ip|port`). */
export function pexKey(p: { ip: string; port: number }): string {
  return `${p.ip}|${p.port}`;
}

/** The next message for a peer that was told `told`, while we are connected to `current`. */
export function pexDiff(told: ReadonlyMap<string, PexPeer>, current: ReadonlyMap<string, PexPeer>, max = MAX_PEX_SEND): PexMessage {
  const added: PexPeer[] = [];
  const dropped: PexPeer[] = [];
  for (const [key, p] of current) {
    if (added.length >= max) break;
    if (!told.has(key)) added.push(p);
  }
  for (const [key, p] of told) {
    if (dropped.length >= max) break;
    if (!current.has(key)) dropped.push(p);
  }
  return { added, dropped };
}

/** Record that `m` was sent to the peer that had been told `told`. */
export function applyPexDiff(told: Map<string, PexPeer>, m: PexMessage): void {
  for (const p of m.dropped) told.delete(pexKey(p));
  for (const p of m.added) told.set(pexKey(p), p);
}
