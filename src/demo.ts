/**
 * `npm run demo`: the report's three steps as real processes on `example.txt` — tracker, seeder,
 * requester — with their console lines, then a second requester that downloads from both the
 * seeder and the first requester (which seeds once it has the file), and a byte-for-byte check.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlagsFor } from './cli/node-flags.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const children: ChildProcess[] = [];

interface Step {
  child: ChildProcess;
  exited: Promise<number | null>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** Start the program `name`, echo its lines with a label, optionally answer its prompt. */
function start(name: string, answer?: string, args: string[] = [], label = name): Step {
  // The compiled programs beside this one (dist/), as `npm run <name>` would run them.
  const child = spawn(process.execPath, [...nodeFlagsFor(root, name), path.join(here, `${name}.js`), ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let seen = '';
  let partial = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    const text = d.toString();
    seen += text;
    // Print whole lines only, so a prompt and its echoed answer stay on one line.
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.trim()) process.stdout.write(`[${label}] ${line}\n`);
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  if (answer !== undefined) child.stdin!.write(answer + '\n');
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (partial.trim()) process.stdout.write(`[${label}] ${partial}\n`);
      resolve(code);
    }),
  );
  return {
    child,
    exited,
    waitFor: (re, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} did not print ${re} within ${timeoutMs / 1000} s`)), timeoutMs);
        const check = () => {
          if (re.test(seen)) {
            clearTimeout(timer);
            resolve();
          }
        };
        waiters.push(check);
        void exited.then(() => {
          clearTimeout(timer);
          if (!re.test(seen)) reject(new Error(`${name} exited before printing ${re}`));
        });
        check();
      }),
  };
}

function stopAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});

try {
  // A fresh download every time: remove what an earlier demo left in the requesters' folders.
  for (const dir of ['peer_6882', 'peer_6883']) {
    for (const f of ['example.txt', 'example.txt.part', 'example.txt.part.state']) await rm(path.join(root, dir, f), { force: true });
  }

  console.log('Step 1: start the tracker');
  const tracker = start('tracker');
  await tracker.waitFor(/\* Running on http:\/\/127\.0\.0\.1:5001/);

  console.log('Step 2: start the seeder (answering its prompt with example.txt)');
  const seeder = start('seeder', 'example.txt');
  await seeder.waitFor(/\* Running on http:\/\/127\.0\.0\.1:6881/);

  console.log('Step 3: start the requester (answering its prompt with peer_6882/example.txt.torrent)');
  const requester = start('requester', 'peer_6882/example.txt.torrent');
  await requester.waitFor(/Seeding example\.txt/);

  console.log('Step 4: a second requester on port 6883 downloads from the seeder and the first requester');
  const second = start('requester', 'peer_6882/example.txt.torrent', ['--port', '6883', '--no-seed'], 'requester 6883');
  const code = await second.exited;
  if (code !== 0) throw new Error(`the second requester exited with status ${code}`);

  const original = await readFile(path.join(root, 'example.txt'));
  for (const dir of ['peer_6882', 'peer_6883']) {
    if (!original.equals(await readFile(path.join(root, dir, 'example.txt')))) throw new Error(`${dir}/example.txt differs from example.txt`);
  }
  console.log(`Demo OK: peer_6882/example.txt and peer_6883/example.txt are byte-identical to example.txt (${original.length} bytes)`);

  stopAll();
  await Promise.all([requester.exited, seeder.exited, tracker.exited]);
  process.exit(0);
} catch (e) {
  console.error(`Demo failed: ${(e as Error).message}`);
  stopAll();
  process.exit(1);
}
