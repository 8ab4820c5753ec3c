/**
 * Pure: a client's name for people, from its BEP 10 handshake `v` when it sent one, else from its
 * peer_id (src/bittorrent/client-name.ts). What comes back is still text from the network: the
 * page renders it as text only.
 */
import { clientName as clientOfPeerId, printableId, printableText } from '../../bittorrent/client-name.ts';

/** Longest client name passed on (a `v` is bounded to 100 bytes already). */
const MAX_NAME = 64;

/** The name to show: `v` if given, else the peer_id's client, else the peer_id's first 8 bytes (both made printable). */
export function clientName(peerId: Buffer | undefined, v: string | undefined): string {
  const trimmed = v?.trim();
  if (trimmed) return printableText(trimmed).slice(0, MAX_NAME);
  if (!peerId) return 'unknown';
  const known = clientOfPeerId(peerId);
  return known !== 'unknown' ? known : `unknown (${printableId(peerId.subarray(0, 8))})`;
}
