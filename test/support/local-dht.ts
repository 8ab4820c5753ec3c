/**
 * A DHT of bittorrent-dht nodes on 127.0.0.1 in the test process: the first without bootstrap,
 * the rest bootstrapped from it (BEP 5 nodes refuse nothing on loopback, but a node needs someone
 * to ask first). Nothing leaves loopback.
 */
import DHT from 'bittorrent-dht';
import { createHash } from 'node:crypto';
import { decodeWithSpans } from '../../src/metainfo/bencode.ts';

export interface LocalDht {
  nodes: DHT[];
  /** `127.0.0.1:PORT` of the first node, for `--dht-bootstrap`. */
  bootstrap: string;
  bootstrapPort: number;
  close(): Promise<void>;
}

function listen(d: DHT): Promise<void> {
  return new Promise((resolve) => d.listen(0, '127.0.0.1', () => resolve()));
}

export async function startLocalDht(count = 20): Promise<LocalDht> {
  const first = new DHT({ bootstrap: false, host: false });
  await listen(first);
  const bootstrapPort = first.address().port;
  const bootstrap = `127.0.0.1:${bootstrapPort}`;
  const nodes = [first];
  for (let i = 1; i < count; i++) {
    const d = new DHT({ bootstrap: [bootstrap], host: false });
    await listen(d);
    nodes.push(d);
  }
  // each bootstrapped node has asked the first for its neighbours ('ready' once that lookup ends)
  await Promise.all(nodes.slice(1).map((d) => new Promise<void>((resolve) => ((d as unknown as { ready?: boolean }).ready ? resolve() : d.once('ready', () => resolve())))));
  for (const d of nodes) d.on('warning', () => {});
  return {
    nodes,
    bootstrap,
    bootstrapPort,
    close: () => Promise.all(nodes.map((d) => new Promise<void>((resolve) => d.destroy(() => resolve())))).then(() => undefined),
  };
}

/** A torrent with nothing but the info dictionary of `torrent` (the same info_hash): no tracker, no web seed. */
export function infoOnly(torrent: Buffer): { torrent: Buffer; infoHash: string } {
  const span = decodeWithSpans(torrent).spans.get('info')!;
  const info = torrent.subarray(span.start, span.end);
  return { torrent: Buffer.concat([Buffer.from('d4:info'), info, Buffer.from('e')]), infoHash: createHash('sha1').update(info).digest('hex') };
}
