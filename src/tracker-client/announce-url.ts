/** The announce request of the tracker client as an HTTP URL (BEP 3, BEP 23 `compact=1`). Pure. */
import { percentEncode } from '../tracker/protocol/query.ts';
import type { AnnounceEvent } from '../tracker/protocol/announce.ts';

export interface AnnounceParams {
  infoHash: Buffer;
  peerId: Buffer;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event: AnnounceEvent;
  numwant?: number;
}

/** Append the announce parameters to `announceUrl`, keeping any query it already has (`?passkey=`). */
export function buildAnnounceUrl(announceUrl: string, p: AnnounceParams): string {
  const parts = [
    `info_hash=${percentEncode(p.infoHash)}`,
    `peer_id=${percentEncode(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${p.uploaded}`,
    `downloaded=${p.downloaded}`,
    `left=${p.left}`,
    'compact=1',
  ];
  if (p.numwant !== undefined) parts.push(`numwant=${p.numwant}`);
  if (p.event !== 'none') parts.push(`event=${p.event}`);
  const hash = announceUrl.indexOf('#');
  const base = hash < 0 ? announceUrl : announceUrl.slice(0, hash);
  const sep = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return base + sep + parts.join('&');
}
