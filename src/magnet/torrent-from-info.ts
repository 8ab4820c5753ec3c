/**
 * The `.torrent` of a magnet link once its info dict is in: the info dict's exact bytes (so the
 * info hash stays the magnet's), with the magnet's trackers (`announce`, BEP 12 `announce-list`:
 * one tier each, as libtorrent does) and web seeds (BEP 19 `url-list`) around it. Pure.
 */
import { encode } from '../metainfo/bencode.ts';

export function torrentFromInfo(rawInfo: Buffer, trackers: readonly string[], webSeeds: readonly string[]): Buffer {
  // Keys in raw byte order (BEP 3): announce, announce-list, info, url-list.
  const parts: Buffer[] = [Buffer.from('d')];
  if (trackers.length) {
    parts.push(encode('announce'), encode(trackers[0]!));
    parts.push(encode('announce-list'), encode(trackers.map((t) => [t])));
  }
  parts.push(encode('info'), rawInfo);
  if (webSeeds.length) parts.push(encode('url-list'), encode([...webSeeds]));
  parts.push(Buffer.from('e'));
  return Buffer.concat(parts);
}
