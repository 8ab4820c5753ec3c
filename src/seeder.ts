#!/usr/bin/env node
/**
 * `npm run seeder`: share one file or folder. Links it into the seeder's folder (or serves it in
 * place), hashes it, writes `<name>.torrent`, copies the torrent to the requester's folder,
 * registers with the tracker and serves the data over HTTP.
 */
import { askUntil, closeInput, die } from './cli/common.ts';
import { checkShareable, parseSeederArgs } from './cli/seeder-args.ts';
import { prepareShare } from './seed/share.ts';
import { seedTorrent } from './seed/seed-torrent.ts';
import { urlHost } from './bittorrent/address.ts';
import { publicAddress } from './net/reachable-addresses.ts';
import { checkPortFree } from './net/port-check.ts';
import { formatMagnet } from './magnet/magnet-uri.ts';

const args = parseSeederArgs();
const check = (answer: string) => checkShareable(answer, args.seedDir);
const file = args.file !== undefined ? await check(args.file).catch((e: Error) => die(e.message)) : await askUntil('Enter the file name to share :', check);
closeInput();

try {
  await checkPortFree(args.host, args.port);
  const { meta, dataRoot } = await prepareShare(file, args, (line) => console.log(line));
  console.log(`Info hash: ${meta.infoHashHex}`);
  const trackers = [...new Set([meta.announce, ...meta.announceList.flat()].filter((u): u is string => !!u))];
  console.log(`Magnet link: ${formatMagnet(meta.infoHash, meta.name, trackers, meta.urlList)}`);
  await seedTorrent(meta, { ...args, dataRoot }, (line) => console.log(line));
  console.log(`* Running on http://${urlHost(publicAddress(args.host))}:${args.port}`);
} catch (e) {
  die((e as Error).message);
}
