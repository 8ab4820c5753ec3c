/**
 * Pure: a client's name for people, from its BEP 10 handshake `v` when it sent one, else from its
 * peer_id (src/bittorrent/client-name.ts). What comes back is still text from the network: the
 * page renders it as text only.
 */
import { clientName as clientOfPeerId } from '../../bittorrent/client-name.ts';

/** Longest client name passed on (a `v` is bounded to 100 bytes already). */
const MAX_NAME = 64;

/** No control characters: a peer_id is 20 arbitrary bytes, a `v` any text. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** The name to show: `v` if given, else the peer_id's client, else the peer_id's first 8 bytes. */
export function clientName(peerId: Buffer | undefined, v: string | undefined): string {
  const trimmed = v?.trim();
  if (trimmed) return printable(trimmed).slice(0, MAX_NAME);
  if (!peerId) return 'unknown';
  const known = clientOfPeerId(peerId);
  return known !== 'unknown' ? known : `unknown (${printable(peerId.subarray(0, 8).toString('latin1'))})`;
}
