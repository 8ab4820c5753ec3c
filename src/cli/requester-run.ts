/**
 * The requester's downloads: one torrent on a port of its own (as ever), or several at once on one
 * port (one PeerHost), with one progress display (their sum), a failure reported with the
 * torrent's name while the others go on.
 */
import { die } from './common.ts';
import { holdStop } from './stop-signals.ts';
import type { ProgressDisplay } from './progress.ts';
import type { JsonEvents } from './json-events.ts';
import type { RequesterArgs, RequesterInput } from './requester-args.ts';
import { runDownload, SessionError, type ProgressSnapshot, type SessionOptions } from '../download/session.ts';
import { resolveMagnet } from '../download/metadata-magnet.ts';
import type { PeerSource } from '../download/metadata-sources.ts';
import { dhtPeers, hostDhtPeers } from '../dht/dht-peer-source.ts';
import { trackerTiers } from '../tracker-client/tiers.ts';
import { PeerHost } from '../peer/peer-host.ts';
import type { Metainfo } from '../metainfo/metainfo.ts';
import type { TrackerPeer } from '../tracker-client/reply.ts';

export interface RequesterRun {
  args: RequesterArgs;
  peerId: Buffer;
  display: ProgressDisplay;
  log(line: string): void;
  /** `--json`: progress and pieces as events instead of the bar. */
  events?: JsonEvents;
}

type Progress = Pick<SessionOptions, 'onProgress' | 'onDownloaded' | 'onPieceVerified'>;

/** What the user gave, as a name for messages. */
export function inputName(input: RequesterInput): string {
  return input.meta ? input.meta.name : (input.magnet.name ?? input.magnet.infoHashHex);
}

/** The torrent, and peers already known (a magnet's x.pe and those of its metadata phase). */
async function torrentAndPeers(input: RequesterInput, extraSources: PeerSource[], r: RequesterRun): Promise<{ meta: Metainfo; peers: TrackerPeer[] }> {
  const { args, peerId, log } = r;
  if (input.meta) return { meta: input.meta, peers: args.peers };
  const encryption = args.peerLimits.encryption ?? 'allow';
  const { outDir, host, port, waitSeconds } = args;
  const found = await resolveMagnet(input.magnet, { outDir, host, port, peerId, encryption, waitSeconds, log, extraSources });
  return { meta: found.meta, peers: [...args.peers, ...found.peers] };
}

/** One torrent's download (and seeding), on `peerHost` when several share it. */
async function download(input: RequesterInput, extraSources: PeerSource[], progress: Progress, r: RequesterRun, peerHost?: PeerHost): Promise<void> {
  const { meta, peers } = await torrentAndPeers(input, extraSources, r);
  const { outDir, host, port, waitSeconds, requestTimeoutSeconds, seed, maxUploadRate, peerLimits, protocol } = r.args;
  const trackers = trackerTiers(meta.announce, meta.announceList);
  if (trackers.length === 0 && meta.urlList.length === 0 && peers.length === 0 && (!peerLimits.dht || meta.private)) {
    throw new SessionError(`the torrent names no http(s) or udp tracker and no web seed, no --peer was given, and the DHT is off (${meta.private ? 'a private torrent' : '--no-dht'})`);
  }
  const log = (l: string) => {
    r.display.end();
    r.log(l);
  };
  const { peerId } = r;
  await runDownload({ meta, trackers, outDir, host, port, peerId, waitSeconds, requestTimeoutSeconds, seed, maxUploadRate, peerLimits, protocol, peers, peerHost, log, ...progress });
}

/** One torrent, its port bound after its metadata phase (whose DHT node uses the port first). */
export async function runOne(input: RequesterInput, r: RequesterRun): Promise<void> {
  const { host, port, peerLimits } = r.args;
  // The DHT finds peers for a magnet link that names none (BEP 5); the download's own node takes over after.
  const dht = input.magnet && peerLimits.dht;
  const extraSources = dht ? [dhtPeers({ settings: dht, host, port, infoHash: input.magnet.infoHash, log: r.log })] : [];
  const { events } = r;
  const onPieceVerified = events && ((index: number) => events.emit({ event: 'piece', index }));
  await download(input, extraSources, { onProgress: (p) => showProgress(r, p), onPieceVerified, onDownloaded: () => r.display.end() }, r);
}

/** Progress as a `--json` event, or on the display. */
function showProgress(r: RequesterRun, p: ProgressSnapshot): void {
  if (r.events) r.events.progress(p);
  else r.display.update(p);
}

/** Several torrents at once on one port; returns how many failed (each said on stderr with its name). */
export async function runMany(inputs: RequesterInput[], r: RequesterRun): Promise<number> {
  const { host, port, maxUploadRate, peerLimits } = r.args;
  let peerHost: PeerHost;
  try {
    peerHost = await PeerHost.listen({ host, port, peerId: r.peerId, maxUploadRate, peerLimits });
  } catch (e) {
    die((e as Error).message);
  }
  const dht = inputs.some((i) => i.magnet) ? await peerHost.startDht() : undefined;
  const latest = new Map<number, ProgressSnapshot>();
  const runs = inputs.map((input, i) => {
    const extraSources = dht && input.magnet ? [hostDhtPeers(dht, input.magnet.infoHash)] : [];
    const progress: Progress = {
      onProgress: (p) => {
        latest.set(i, p);
        showProgress(r, sumOf([...latest.values()]));
      },
      onDownloaded: () => {
        r.display.end();
        const last = latest.get(i);
        if (last) latest.set(i, { ...last, done: last.total, rate: 0, peers: 0 });
      },
    };
    return download(input, extraSources, progress, r, peerHost).then(
      () => true,
      (e: Error) => {
        r.display.end();
        if (!(e instanceof SessionError)) throw e;
        process.stderr.write(`Error: ${inputName(input)}: ${e.message}\n`);
        return false;
      },
    );
  });
  const failed = (await Promise.all(runs)).filter((ok) => !ok).length;
  // The shared port closes as part of the stop: a repeated Ctrl-C does not cut it short.
  const stop = holdStop();
  await peerHost.close();
  stop.release();
  return failed;
}

function sumOf(all: ProgressSnapshot[]): ProgressSnapshot {
  const sum: ProgressSnapshot = { total: 0, done: 0, rate: 0, peers: 0, webSeeds: 0, uploaded: 0 };
  for (const p of all) {
    sum.total += p.total;
    sum.done += p.done;
    sum.rate += p.rate;
    sum.peers += p.peers;
    sum.webSeeds += p.webSeeds;
    sum.uploaded += p.uploaded;
  }
  return sum;
}
