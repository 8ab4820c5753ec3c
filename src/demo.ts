/**
 * `npm run demo`: the report's three steps as real processes on `example.txt` — tracker, seeder,
 * requester — with their console lines, then a second requester that downloads from both the
 * seeder and the first requester (which seeds once it has the file), and a byte-for-byte check.
 * `npm run demo -- --keep` then leaves tracker, seeder and requester running (Ctrl-C stops them)
 * and prints their dashboards' URLs.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildPrograms } from './cli/child-programs.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

const programs = new ChildPrograms(here, root);
const keep = process.argv.includes('--keep');

process.on('SIGINT', () => {
  programs.stopAll();
  process.exit(130);
});

try {
  // A fresh download every time: remove what an earlier demo left in the requesters' folders.
  for (const dir of ['peer_6882', 'peer_6883']) {
    for (const f of ['example.txt', 'example.txt.part', 'example.txt.part.state']) await rm(path.join(root, dir, f), { force: true });
  }

  console.log('Step 1: start the tracker');
  const tracker = programs.start('tracker');
  await tracker.waitFor(/\* Running on http:\/\/127\.0\.0\.1:5001/);

  console.log('Step 2: start the seeder (answering its prompt with example.txt)');
  const seeder = programs.start('seeder', 'example.txt', ['--no-dht']);
  await seeder.waitFor(/\* Running on http:\/\/127\.0\.0\.1:6881/);

  console.log('Step 3: start the requester (answering its prompt with peer_6882/example.txt.torrent)');
  const requester = programs.start('requester', 'peer_6882/example.txt.torrent', ['--no-dht']);
  await requester.waitFor(/Seeding example\.txt/);

  console.log('Step 4: a second requester on port 6883 downloads from the seeder and the first requester');
  const second = programs.start('requester', 'peer_6882/example.txt.torrent', ['--port', '6883', '--no-seed', '--no-dht'], 'requester 6883');
  const code = await second.exited;
  if (code !== 0) throw new Error(`the second requester exited with status ${code}`);

  const original = await readFile(path.join(root, 'example.txt'));
  for (const dir of ['peer_6882', 'peer_6883']) {
    if (!original.equals(await readFile(path.join(root, dir, 'example.txt')))) throw new Error(`${dir}/example.txt differs from example.txt`);
  }
  console.log(`Demo OK: peer_6882/example.txt and peer_6883/example.txt are byte-identical to example.txt (${original.length} bytes)`);

  if (keep) {
    console.log('Dashboards (Ctrl-C to stop): tracker http://127.0.0.1:5001/  seeder http://127.0.0.1:6881/  requester http://127.0.0.1:6882/');
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
