#!/usr/bin/env node
/**
 * `npm run requester`: download the files of `.torrent`s or magnet links (their metadata fetched
 * from the swarm first, BEP 9) from the peers their trackers list, then seed them. Several
 * torrents download at once on one port, with one progress display; one that fails is reported
 * and the others go on.
 */
import { askUntil, closeInput, die } from './cli/common.ts';
import { ProgressDisplay } from './cli/progress.ts';
import { loadInput, parseRequesterArgs, type RequesterInput } from './cli/requester-args.ts';
import { newPeerId } from './bittorrent/peer-id.ts';
import { runDownload, SessionError, type ProgressSnapshot, type SessionOptions } from './download/session.ts';
import { resolveMagnet } from './download/metadata-magnet.ts';
import type { PeerSource } from './download/metadata-sources.ts';
import { dhtPeers } from './dht/dht-peer-source.ts';
import { trackerTiers } from './tracker-client/tiers.ts';
import { PeerHost } from './peer/peer-host.ts';
import { hostDhtPeers } from './peer/host-dht-source.ts';
import type { Metainfo } from './metainfo/metainfo.ts';
import type { TrackerPeer } from './tracker-client/reply.ts';

const args = parseRequesterArgs();
const inputs: RequesterInput[] = [];
for (const t of args.torrents) inputs.push(await loadInput(t).catch((e: Error) => die(e.message)));
if (inputs.length === 0) inputs.push(await askUntil('Enter the path to the .torrent file:', loadInput));
closeInput();
const hashOf = (input: RequesterInput) => input.meta?.infoHashHex ?? input.magnet!.infoHashHex;
const twice = inputs.map(hashOf).find((h, i, all) => all.indexOf(h) !== i);
if (twice) die(`the torrent ${twice} is given twice`, 2);
for (const input of inputs) console.log(`Retrieved info_hash: ${hashOf(input)}`);
const log = (l: string) => console.log(l);
const peerId = newPeerId();
const { outDir, host, port, waitSeconds, requestTimeoutSeconds, seed, maxUploadRate, peerLimits, protocol } = args;
const display = new ProgressDisplay();

/** The torrent, and peers already known (a magnet's x.pe and those of its metadata phase). */
async function torrentAndPeers(input: RequesterInput, extraSources: PeerSource[]): Promise<{ meta: Metainfo; peers: TrackerPeer[] }> {
  if (input.meta) return { meta: input.meta, peers: args.peers };
  const encryption = peerLimits.encryption ?? 'allow';
  const magnet = input.magnet;
  const found = await resolveMagnet(magnet, { outDir, host, port, peerId, encryption, waitSeconds, log, extraSources });
  return { meta: found.meta, peers: [...args.peers, ...found.peers] };
}

/** One torrent's download (and seeding), on `peerHost` when several share it. */
async function download(input: RequesterInput, extraSources: PeerSource[], progress: Pick<SessionOptions, 'onProgress' | 'onDownloaded'>, peerHost?: PeerHost): Promise<void> {
  const { meta, peers } = await torrentAndPeers(input, extraSources);
  const trackers = trackerTiers(meta.announce, meta.announceList);
  if (trackers.length === 0 && meta.urlList.length === 0 && peers.length === 0 && (!peerLimits.dht || meta.private)) {
    throw new SessionError(`the torrent names no http(s) or udp tracker and no web seed, no --peer was given, and the DHT is off (${meta.private ? 'a private torrent' : '--no-dht'})`);
  }
  const line = (l: string) => {
    display.end();
    console.log(l);
  };
  await runDownload({ meta, trackers, outDir, host, port, peerId, waitSeconds, requestTimeoutSeconds, seed, maxUploadRate, peerLimits, protocol, peers, peerHost, log: line, ...progress });
}

/** One torrent, its own port bound after its metadata phase (whose DHT node uses the port first). */
async function one(input: RequesterInput): Promise<void> {
  // The DHT finds peers for a magnet link that names none (BEP 5); the download's own node takes over after.
  const dht = input.magnet && peerLimits.dht;
  const extraSources = dht ? [dhtPeers({ settings: dht, host, port, infoHash: input.magnet.infoHash, log })] : [];
  await download(input, extraSources, { onProgress: (p) => display.update(p), onDownloaded: () => display.end() });
}

/** Several torrents at once on one port: one progress display (their sum); returns how many failed. */
async function many(): Promise<number> {
  let peerHost: PeerHost;
  try {
    peerHost = await PeerHost.listen({ host, port, peerId, maxUploadRate, peerLimits });
  } catch (e) {
    die((e as Error).message);
  }
  const dht = inputs.some((i) => i.magnet) ? await peerHost.startDht() : undefined;
  const latest = new Map<number, ProgressSnapshot>();
  const show = () => display.update(sumOf([...latest.values()]));
  const runs = inputs.map((input, i) => {
    const extraSources = dht && input.magnet ? [hostDhtPeers(dht, input.magnet.infoHash)] : [];
    const progress = {
      onProgress: (p: ProgressSnapshot) => void (latest.set(i, p), show()),
      onDownloaded: () => void (display.end(), latest.set(i, { ...(latest.get(i) ?? emptySnapshot(0)), rate: 0, peers: 0 })),
    };
    return download(input, extraSources, progress, peerHost).catch((e: Error) => {
      display.end();
      if (!(e instanceof SessionError)) throw e;
      process.stderr.write(`Error: ${input.meta?.name ?? input.magnet?.name ?? hashOf(input)}: ${e.message}\n`);
      return 'failed' as const;
    });
  });
  const failed = (await Promise.all(runs)).filter((r) => r === 'failed').length;
  await peerHost.close();
  return failed;
}

function emptySnapshot(total: number): ProgressSnapshot {
  return { total, done: total, rate: 0, peers: 0, uploaded: 0 };
}

function sumOf(all: ProgressSnapshot[]): ProgressSnapshot {
  const sum = emptySnapshot(0);
  for (const p of all) {
    sum.total += p.total;
    sum.done += p.done;
    sum.rate += p.rate;
    sum.peers += p.peers;
    sum.uploaded += p.uploaded;
  }
  return sum;
}

if (inputs.length > 1) {
  const failed = await many();
  if (failed > 0) process.stderr.write(`${failed} of ${inputs.length} torrents failed\n`);
  process.exit(failed > 0 ? 1 : 0);
}
try {
  await one(inputs[0]!);
  process.exit(0);
} catch (e) {
  display.end();
  if (e instanceof SessionError) die(e.message);
  throw e;
}
