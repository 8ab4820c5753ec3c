#!/usr/bin/env node
/**
 * `npm run requester`: download the files of `.torrent`s or magnet links (their metadata fetched
 * from the swarm first, BEP 9) from the peers their trackers list, then seed them. Several
 * torrents download at once on one port (cli/requester-run.ts).
 */
import { askUntil, closeInput, die, EXIT, interrupted } from './cli/common.ts';
import { installStopSignals } from './cli/stop-signals.ts';
import { JsonEvents } from './cli/json-events.ts';
import { ProgressDisplay } from './cli/progress.ts';
import { linesTo } from './cli/seeding-status.ts';
import { loadInput, parseRequesterArgs, type RequesterInput } from './cli/requester-args.ts';
import { runMany, runOne, type RequesterRun } from './cli/requester-run.ts';
import { newPeerId } from './bittorrent/peer-id.ts';
import { DownloadInterrupted, SessionError } from './download/session.ts';
import { checkPortFree } from './net/port-check.ts';

// First of all: from here on a signal ends the program with a status (130 until a download holds the stop).
installStopSignals(interrupted);
const args = parseRequesterArgs();
// --json: events for scripts instead of lines for people; errors said both ways.
const events = args.json ? new JsonEvents() : undefined;
const fail = (message: string, status: number = EXIT.failure): never => {
  events?.emit({ event: 'error', message });
  return die(message, status);
};
// A busy port is said before anything is asked or written (no `.part` for a run that cannot serve).
await checkPortFree(args.host, args.port).catch((e: Error) => fail(e.message));
const inputs: RequesterInput[] = [];
for (const t of args.torrents) inputs.push(await loadInput(t).catch((e: Error) => fail(e.message)));
if (inputs.length === 0) inputs.push(await askUntil('Enter the path to the .torrent file:', loadInput));
closeInput();
const hashOf = (input: RequesterInput) => (input.meta ? input.meta.infoHashHex : input.magnet.infoHashHex);
// Two downloads of one torrent would write the same .part.
const twice = inputs.map(hashOf).find((h, i, all) => all.indexOf(h) !== i);
if (twice) die(`the torrent ${twice} is given twice`, 2);
for (const input of inputs) {
  if (events) events.emit({ event: 'torrent', infoHash: hashOf(input), name: input.meta?.name ?? input.magnet?.name });
  else if (!args.quiet) console.log(`Retrieved info_hash: ${hashOf(input)}`);
}
const log = (l: string) => (events ? events.line(l) : args.quiet ? undefined : console.log(l));
// `-q`: the display's plain lines go where every other line goes (nowhere).
const display = args.quiet ? new ProgressDisplay(linesTo(log)) : new ProgressDisplay();
const run: RequesterRun = { args, peerId: newPeerId(), display, log, events };

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
  if (e instanceof SessionError) fail(e.message, e instanceof DownloadInterrupted ? EXIT.interrupted : EXIT.failure);
  throw e;
}
