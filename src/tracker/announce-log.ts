/** `--verbose`: one line per announce, for a person watching the tracker. Pure. */
import type { AnnounceRequest } from './protocol/announce.ts';
import type { AnnounceResponse } from './protocol/answer.ts';
import { hostPort } from '../bittorrent/address.ts';
import { printableId } from '../bittorrent/client-name.ts';

/** `announce 1a2b3c4d… from 10.0.0.7:6881 (-qB4650-, started, left 1.2 MB) -> 7 peers, 3 seeders 5 leechers` */
export function announceLine(req: AnnounceRequest, answer: AnnounceResponse | Error): string {
  const event = req.event === 'none' ? '' : `${req.event}, `;
  const head = `announce ${req.infoHash.toString('hex').slice(0, 8)}… from ${hostPort(req.ip, req.port)} (${printableId(req.peerId.subarray(0, 8))}, ${event}${req.left === 0 ? 'seeding' : `left ${req.left} B`})`;
  if (answer instanceof Error) return `${head} -> refused: ${answer.message}`;
  const listed = answer.peers.v4.length / 6 + answer.peers.v6.length / 18;
  return `${head} -> ${listed} peer${listed === 1 ? '' : 's'}, ${answer.complete} seeders ${answer.incomplete} leechers`;
}

