/**
 * From a magnet link to a checked Metainfo: a `.torrent` saved earlier beside the download
 * (`<out>/<dn>.torrent` with the same info hash) is used as it stands; otherwise the metadata
 * phase fetches the info dict from the swarm, and `<out>/<name>.torrent` is written so that a
 * resume does not need the swarm again. The peers found are handed on to the download.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hostPort } from '../bittorrent/address.ts';
import type { MagnetLink, MagnetPeer } from '../magnet/magnet-uri.ts';
import { torrentFromInfo } from '../magnet/torrent-from-info.ts';
import { MAX_TORRENT_BYTES, parseMetainfo, type Metainfo } from '../metainfo/metainfo.ts';
import type { EncryptionPolicy } from '../peer/transport-options.ts';
import { fetchMetadata } from './metadata-fetch.ts';
import { fixedPeers, trackerPeers, type PeerSource } from './metadata-sources.ts';
import { fsErrorMessage } from '../cli/fs-messages.ts';
import { SessionError } from './session-error.ts';

export interface MagnetOptions {
  outDir: string;
  host: string;
  port: number;
  peerId: Buffer;
  encryption: EncryptionPolicy;
  waitSeconds: number;
  /** More places to find peers (e.g. the DHT), beside the magnet's x.pe and tr. */
  extraSources?: PeerSource[];
  log(line: string): void;
}

export interface ResolvedMagnet {
  meta: Metainfo;
  /** Peers already known to hold the torrent (to dial first). */
  peers: MagnetPeer[];
}

/** The torrent saved by an earlier run, if it is this magnet's. */
async function savedTorrent(link: MagnetLink, outDir: string): Promise<Metainfo | undefined> {
  if (!link.name || link.name.includes('/') || link.name.includes('\\') || link.name.startsWith('.')) return undefined;
  try {
    const bytes = await readFile(path.join(outDir, `${link.name}.torrent`));
    if (bytes.length > MAX_TORRENT_BYTES) return undefined;
    const meta = parseMetainfo(bytes);
    return meta.infoHash.equals(link.infoHash) ? meta : undefined;
  } catch {
    return undefined;
  }
}

export async function resolveMagnet(link: MagnetLink, o: MagnetOptions): Promise<ResolvedMagnet> {
  const saved = await savedTorrent(link, o.outDir);
  if (saved) {
    o.log(`Metadata from ${path.join(o.outDir, `${saved.name}.torrent`)} (saved by an earlier run)`);
    return { meta: saved, peers: link.peers };
  }
  if (link.trackers.length === 0 && link.peers.length === 0 && !o.extraSources?.length) {
    throw new SessionError('the magnet link names no usable tracker (tr) and no peer (x.pe) to fetch its metadata from');
  }
  const { infoHash } = link;
  const { peerId, host, port, encryption, waitSeconds, log } = o;
  const sources = [fixedPeers(link.peers), trackerPeers(link.trackers.map((t) => [t]), { infoHash, peerId, port, log }), ...(o.extraSources ?? [])];
  log(`Fetching the metadata (BEP 9) of ${link.name ?? link.infoHashHex}...`);
  const got = await fetchMetadata({ infoHash, peerId, host, port, encryption, sources, waitSeconds, log });
  const torrent = torrentFromInfo(got.rawInfo, link.trackers, link.webSeeds);
  let meta: Metainfo;
  try {
    meta = parseMetainfo(torrent);
  } catch (e) {
    // Its hash is right, so the swarm's torrent itself is one we refuse (a path with "..", say).
    throw new SessionError(`the magnet's torrent is not usable: ${(e as Error).message}`);
  }
  const file = path.join(o.outDir, `${meta.name}.torrent`);
  await saveAtomically(file, torrent);
  log(`Metadata received from ${hostPort(got.from.ip, got.from.port)}: ${meta.name} (${got.rawInfo.length} bytes), saved to: ${file}`);
  return { meta, peers: got.peers };
}

async function saveAtomically(file: string, bytes: Buffer): Promise<void> {
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, bytes);
    await rename(`${file}.tmp`, file);
  } catch (e) {
    throw new SessionError(`cannot save the torrent: ${fsErrorMessage(e, file)}`);
  }
}
