#!/usr/bin/env node
/**
 * `npm run requester`: download the files of `.torrent`s or magnet links (their metadata fetched
 * from the swarm first, BEP 9) from the peers their trackers list, then seed them. Several
 * torrents download at once on one port (cli/requester-run.ts).
 */
import { askUntil, closeInput, die } from './cli/common.ts';
import { ProgressDisplay } from './cli/progress.ts';
import { loadInput, parseRequesterArgs, type RequesterInput } from './cli/requester-args.ts';
import { runMany, runOne, type RequesterRun } from './cli/requester-run.ts';
import { newPeerId } from './bittorrent/peer-id.ts';
import { SessionError } from './download/session.ts';

const args = parseRequesterArgs();
const inputs: RequesterInput[] = [];
for (const t of args.torrents) inputs.push(await loadInput(t).catch((e: Error) => die(e.message)));
if (inputs.length === 0) inputs.push(await askUntil('Enter the path to the .torrent file:', loadInput));
closeInput();
const hashOf = (input: RequesterInput) => (input.meta ? input.meta.infoHashHex : input.magnet.infoHashHex);
// Two downloads of one torrent would write the same .part.
const twice = inputs.map(hashOf).find((h, i, all) => all.indexOf(h) !== i);
if (twice) die(`the torrent ${twice} is given twice`, 2);
for (const input of inputs) console.log(`Retrieved info_hash: ${hashOf(input)}`);
const run: RequesterRun = { args, peerId: newPeerId(), display: new ProgressDisplay(), log: (l) => console.log(l) };

if (inputs.length > 1) {
  const failed = await runMany(inputs, run);
  if (failed > 0) process.stderr.write(`${failed} of ${inputs.length} torrents failed\n`);
  process.exit(failed > 0 ? 1 : 0);
}
try {
  await runOne(inputs[0]!, run);
  process.exit(0);
} catch (e) {
  run.display.end();
  if (e instanceof SessionError) die(e.message);
  throw e;
}
