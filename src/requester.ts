#!/usr/bin/env node
/** `npm run requester`: download the file of a `.torrent` from the peers its tracker lists, then seed it. */
import { askUntil, closeInput, die } from './cli/common.ts';
import { ProgressDisplay } from './cli/progress.ts';
import { loadTorrent, parseRequesterArgs } from './cli/requester-args.ts';
import { newPeerId } from './bittorrent/peer-id.ts';
import { runDownload, SessionError } from './download/session.ts';
import { trackerTiers } from './tracker-client/tiers.ts';

const args = parseRequesterArgs();
const meta = args.torrent !== undefined
  ? await loadTorrent(args.torrent).catch((e: Error) => die(e.message))
  : await askUntil('Enter the path to the .torrent file:', loadTorrent);
closeInput();
console.log(`Retrieved info_hash: ${meta.infoHashHex}`);

const trackers = trackerTiers(meta.announce, meta.announceList);
if (trackers.length === 0 && meta.urlList.length === 0 && args.peers.length === 0) die('the torrent names no http(s) or udp tracker and no web seed, and no --peer was given');

const display = new ProgressDisplay();
try {
  const { outDir, host, port, waitSeconds, requestTimeoutSeconds, seed, maxUploadRate, peerLimits, protocol, peers } = args;
  await runDownload({
    meta,
    trackers,
    outDir,
    host,
    port,
    peerId: newPeerId(),
    waitSeconds,
    requestTimeoutSeconds,
    seed,
    maxUploadRate,
    peerLimits,
    protocol,
    peers,
    log: (l) => {
      display.end();
      console.log(l);
    },
    onProgress: (p) => display.update(p),
    onDownloaded: () => display.end(),
  });
  process.exit(0);
} catch (e) {
  display.end();
  if (e instanceof SessionError) die(e.message);
  throw e;
}
