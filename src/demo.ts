/**
 * `npm run demo`: the report's three steps as real processes on `example.txt` — tracker, seeder,
 * requester — with their console lines, then a second requester that downloads from both the
 * seeder and the first requester (which seeds once it has the file), and a byte-for-byte check.
 * `npm run demo -- --keep` then leaves tracker, seeder and requester running (Ctrl-C stops them)
 * and prints their dashboards' URLs. `--help` lists the port flags.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildPrograms, type Step } from './cli/child-programs.ts';
import { checkDemoPorts, parseDemoArgs } from './cli/demo-args.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

const args = parseDemoArgs();
const { keep, trackerPort, seederPort, requesterPort, secondPort } = args;
await checkDemoPorts(args);
const programs = new ChildPrograms(here, root);
const firstDir = `peer_${requesterPort}`;
const secondDir = `peer_${secondPort}`;

/** Wait for a program's line; if it never comes, say which program in words (its own lines are above). */
async function started(step: Step, line: RegExp, what: string): Promise<void> {
  await step.waitFor(line).catch(() => {
    throw new Error(`${what} did not start (its lines above say why)`);
  });
}

process.on('SIGINT', () => {
  programs.stopAll();
  process.exit(130);
});

try {
  // A fresh download every time: remove what an earlier demo left in the requesters' folders.
  for (const dir of [firstDir, secondDir]) {
    for (const f of ['example.txt', 'example.txt.part', 'example.txt.part.state']) await rm(path.join(root, dir, f), { force: true });
  }

  console.log('Step 1: start the tracker');
  const tracker = programs.start('tracker', undefined, ['--port', String(trackerPort)]);
  await started(tracker, new RegExp(`\\* Running on http://127\\.0\\.0\\.1:${trackerPort}`), 'the tracker');

  console.log('Step 2: start the seeder (answering its prompt with example.txt)');
  const trackerUrl = `http://127.0.0.1:${trackerPort}/announce`;
  const seederFlags = ['--no-dht', '--port', String(seederPort), '--tracker', trackerUrl, '--requester-dir', firstDir];
  const seeder = programs.start('seeder', 'example.txt', seederFlags);
  await started(seeder, new RegExp(`\\* Running on http://127\\.0\\.0\\.1:${seederPort}`), 'the seeder');

  const torrent = `${firstDir}/example.txt.torrent`;
  console.log(`Step 3: start the requester (answering its prompt with ${torrent})`);
  const requester = programs.start('requester', torrent, ['--no-dht', '--port', String(requesterPort)]);
  await started(requester, /Seeding example\.txt/, 'the requester');

  console.log(`Step 4: a second requester on port ${secondPort} downloads from the seeder and the first requester`);
  const second = programs.start('requester', torrent, ['--port', String(secondPort), '--no-seed', '--no-dht'], `requester ${secondPort}`);
  const code = await second.exited;
  if (code !== 0) throw new Error(`the second requester exited with status ${code}`);

  const original = await readFile(path.join(root, 'example.txt'));
  for (const dir of [firstDir, secondDir]) {
    if (!original.equals(await readFile(path.join(root, dir, 'example.txt')))) throw new Error(`${dir}/example.txt differs from example.txt`);
  }
  console.log(`Demo OK: ${firstDir}/example.txt and ${secondDir}/example.txt are byte-identical to example.txt (${original.length} bytes)`);

  if (keep) {
    console.log(`Dashboards (Ctrl-C to stop): tracker http://127.0.0.1:${trackerPort}/  seeder http://127.0.0.1:${seederPort}/  requester http://127.0.0.1:${requesterPort}/`);
    await new Promise<void>((resolve) => process.once('SIGTERM', resolve)); // SIGINT: the handler above
  }
  programs.stopAll();
  await Promise.all([requester.exited, seeder.exited, tracker.exited]);
  process.exit(0);
} catch (e) {
  console.error(`Demo failed: ${(e as Error).message}`);
  programs.stopAll();
  process.exit(1);
}
