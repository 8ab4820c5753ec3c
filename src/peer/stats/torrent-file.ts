/**
 * Pure: what a page offers to take a torrent elsewhere: its magnet link, and its `.torrent`
 * rebuilt from the metainfo (the `info` bytes exactly as received, so the info_hash is the same).
 */
import { encode } from '../../metainfo/bencode.ts';
import type { Metainfo } from '../../metainfo/metainfo.ts';
import { formatMagnet } from '../../magnet/magnet-uri.ts';

/** The torrent's magnet link (BEP 9): hash, name, every tracker once in tier order, its web seeds. */
export function magnetLink(meta: Pick<Metainfo, 'infoHashHex' | 'name' | 'announce' | 'announceList' | 'urlList'>): string {
  const trackers = new Set<string>();
  for (const tier of meta.announceList) for (const url of tier) trackers.add(url);
  if (meta.announce !== undefined) trackers.add(meta.announce);
  return formatMagnet(meta.infoHashHex, meta.name, [...trackers], meta.urlList);
}

/** The `.torrent` bytes: announce, announce-list, info (verbatim), url-list, keys in bencode order. */
export function torrentFileBytes(meta: Pick<Metainfo, 'announce' | 'announceList' | 'urlList' | 'rawInfo'>): Buffer {
  const parts: Buffer[] = [Buffer.from('d')];
  const key = (k: string) => encode(Buffer.from(k));
  if (meta.announce !== undefined) parts.push(key('announce'), encode(Buffer.from(meta.announce)));
  if (meta.announceList.length) parts.push(key('announce-list'), encode(meta.announceList.map((tier) => tier.map((u) => Buffer.from(u)))));
  parts.push(key('info'), meta.rawInfo);
  if (meta.urlList.length) parts.push(key('url-list'), encode(meta.urlList.map((u) => Buffer.from(u))));
  parts.push(Buffer.from('e'));
  return Buffer.concat(parts);
}

/** A file name for the download: the torrent's name, without characters that break a header or a path. */
export function torrentFileName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._ -]/g, '_').replace(/^\.+/, '_').slice(0, 100);
  return `${safe || 'torrent'}.torrent`;
}
