#!/usr/bin/env node
/**
 * `npm run seeder`: share files or folders, all on one port. Links each into the seeder's folder (or serves it in
 * place), hashes it, writes `<name>.torrent`, copies the torrent to the requester's folder,
 * registers with the tracker and serves the data over HTTP.
 */
import { askUntil, closeInput, die, interrupted } from './cli/common.ts';
import { installStopSignals } from './cli/stop-signals.ts';
import { checkShareable, parseSeederArgs } from './cli/seeder-args.ts';
import { prepareShare } from './seed/share.ts';
import { seedTorrents, type ServedTorrent } from './seed/seed-torrent.ts';
import { urlHost } from './bittorrent/address.ts';
import { publicAddress } from './net/reachable-addresses.ts';
import { checkPortFree } from './net/port-check.ts';
import { formatMagnet } from './magnet/magnet-uri.ts';
import { JsonEvents } from './cli/json-events.ts';

// First of all: from here on a signal ends the program with a status (130 until its torrents are served).
installStopSignals(interrupted);
const args = parseSeederArgs();
// `--json`: every line becomes an event on stdout (json-events.ts); errors keep their stderr line.
const events = args.json ? new JsonEvents() : undefined;
const say = events ? (line: string) => events.line(line) : args.quiet ? () => {} : (line: string) => console.log(line);
const check = (answer: string) => checkShareable(answer, args.seedDir);
const files: string[] = [];
for (const f of args.files) files.push(await check(f).catch((e: Error) => die(e.message)));
if (files.length === 0) files.push(await askUntil('Enter the file name to share :', check));
closeInput();

try {
  await checkPortFree(args.host, args.port);
  const served: ServedTorrent[] = [];
  for (const file of files) {
    const { meta, dataRoot } = await prepareShare(file, args, say);
    const trackers = [...new Set([meta.announce, ...meta.announceList.flat()].filter((u): u is string => !!u))];
    const magnet = formatMagnet(meta.infoHash, meta.name, trackers, meta.urlList);
    if (events) events.emit({ event: 'torrent', infoHash: meta.infoHashHex, name: meta.name, magnet });
    else {
      say(`Info hash: ${meta.infoHashHex}`);
      say(`Magnet link: ${magnet}`);
    }
    served.push({ meta, dataRoot });
  }
  await seedTorrents(served, args, say);
  const url = `http://${urlHost(publicAddress(args.host))}:${args.port}`;
  if (events) events.emit({ event: 'seeding', url });
  else say(`* Running on ${url}`);
} catch (e) {
  events?.emit({ event: 'error', message: (e as Error).message });
  die((e as Error).message);
}
