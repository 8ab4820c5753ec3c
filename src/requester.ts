#!/usr/bin/env node
/**
 * `npm run requester`: download the file of a `.torrent` or a magnet link (its metadata fetched
 * from the swarm first, BEP 9) from the peers its trackers list, then seed it.
 */
import { askUntil, closeInput, die, EXIT } from './cli/common.ts';
import { JsonEvents } from './cli/json-events.ts';
import { ProgressDisplay } from './cli/progress.ts';
import { loadInput, parseRequesterArgs, type RequesterInput } from './cli/requester-args.ts';
import { checkPortFree } from './net/port-check.ts';
import { newPeerId } from './bittorrent/peer-id.ts';
import { DownloadInterrupted, runDownload, SessionError } from './download/session.ts';
import { resolveMagnet } from './download/metadata-magnet.ts';
import { dhtPeers } from './dht/dht-peer-source.ts';
import { trackerTiers } from './tracker-client/tiers.ts';
import type { Metainfo } from './metainfo/metainfo.ts';
import type { TrackerPeer } from './tracker-client/reply.ts';

const args = parseRequesterArgs();
// --json: events for scripts instead of lines for people; errors said both ways.
const events = args.json ? new JsonEvents() : undefined;
const fail = (message: string, status: number = EXIT.failure): never => {
  events?.emit({ event: 'error', message });
  return die(message, status);
};
// A busy port is said before anything is asked or written (no `.part` for a run that cannot serve).
await checkPortFree(args.host, args.port).catch((e: Error) => fail(e.message));
const input: RequesterInput = args.torrent !== undefined
  ? await loadInput(args.torrent).catch((e: Error) => fail(e.message))
  : await askUntil('Enter the path to the .torrent file:', loadInput);
closeInput();
const infoHash = input.meta?.infoHashHex ?? input.magnet!.infoHashHex;
if (events) events.emit({ event: 'torrent', infoHash, name: input.meta?.name ?? input.magnet?.name });
else console.log(`Retrieved info_hash: ${infoHash}`);
const log = (l: string) => (events ? events.line(l) : console.log(l));
const peerId = newPeerId();
const { outDir, host, port, waitSeconds, requestTimeoutSeconds, seed, maxUploadRate, peerLimits, protocol } = args;

/** The torrent, and peers already known (a magnet's x.pe and those of its metadata phase). */
async function torrentAndPeers(): Promise<{ meta: Metainfo; peers: TrackerPeer[] }> {
  if (input.meta) return { meta: input.meta, peers: args.peers };
  const encryption = peerLimits.encryption ?? 'allow';
  const magnet = input.magnet!;
  // The DHT finds peers for a link that names none (BEP 5); the download's own node takes over after.
  const dht = peerLimits.dht;
  const extraSources = dht ? [dhtPeers({ settings: dht, host, port, infoHash: Buffer.from(magnet.infoHashHex, 'hex'), log })] : [];
  const found = await resolveMagnet(magnet, { outDir, host, port, peerId, encryption, waitSeconds, log, extraSources });
  return { meta: found.meta, peers: [...args.peers, ...found.peers] };
}

const display = new ProgressDisplay();
try {
  const { meta, peers } = await torrentAndPeers();
  const trackers = trackerTiers(meta.announce, meta.announceList);
  if (trackers.length === 0 && meta.urlList.length === 0 && peers.length === 0 && (!args.peerLimits.dht || meta.private)) fail(`the torrent names no http(s) or udp tracker and no web seed, no --peer was given, and the DHT is off (${meta.private ? 'a private torrent' : '--no-dht'})`);
  await runDownload({
    meta,
    trackers,
    outDir,
    host,
    port,
    peerId,
    waitSeconds,
    requestTimeoutSeconds,
    seed,
    maxUploadRate,
    peerLimits,
    protocol,
    peers,
    log: (l) => {
      display.end();
      log(l);
    },
    onProgress: (p) => (events ? events.progress(p) : display.update(p)),
    onPieceVerified: events && ((index) => events.emit({ event: 'piece', index })),
    onDownloaded: () => display.end(),
  });
  process.exit(0);
} catch (e) {
  display.end();
  if (e instanceof SessionError) fail(e.message, e instanceof DownloadInterrupted ? EXIT.interrupted : EXIT.failure);
  throw e;
}
