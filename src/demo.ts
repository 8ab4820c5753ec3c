/**
 * `npm run demo`: the report's three steps as real processes on `example.txt` — tracker, seeder,
 * requester — with their console lines, then a byte-for-byte check of the download.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const children: ChildProcess[] = [];

interface Step {
  child: ChildProcess;
  exited: Promise<number | null>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** Start `src/<name>.ts`, echo its lines with a label, optionally answer its prompt. */
function start(name: string, answer?: string): Step {
  // The compiled programs beside this one (dist/), as `npm run <name>` would run them.
  const child = spawn(process.execPath, [path.join(here, `${name}.js`)], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
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
    for (const line of lines) if (line.trim()) process.stdout.write(`[${name}] ${line}\n`);
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  if (answer !== undefined) child.stdin!.write(answer + '\n');
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (partial.trim()) process.stdout.write(`[${name}] ${partial}\n`);
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
  // A fresh download every time: remove what an earlier demo left in the requester's folder.
  await rm(path.join(root, 'peer_6882', 'example.txt'), { force: true });
  await rm(path.join(root, 'peer_6882', 'example.txt.part'), { force: true });

  console.log('Step 1: start the tracker');
  const tracker = start('tracker');
  await tracker.waitFor(/\* Running on http:\/\/127\.0\.0\.1:5001/);

  console.log('Step 2: start the seeder (answering its prompt with example.txt)');
  const seeder = start('seeder', 'example.txt');
  await seeder.waitFor(/\* Running on http:\/\/127\.0\.0\.1:6881/);

  console.log('Step 3: start the requester (answering its prompt with peer_6882/example.txt.torrent)');
  const requester = start('requester', 'peer_6882/example.txt.torrent');
  const code = await requester.exited;
  if (code !== 0) throw new Error(`the requester exited with status ${code}`);

  const [original, downloaded] = await Promise.all([readFile(path.join(root, 'example.txt')), readFile(path.join(root, 'peer_6882', 'example.txt'))]);
  if (!original.equals(downloaded)) throw new Error('peer_6882/example.txt differs from example.txt');
  console.log(`Demo OK: peer_6882/example.txt is byte-identical to example.txt (${original.length} bytes)`);

  stopAll();
  await Promise.all([seeder.exited, tracker.exited]);
  process.exit(0);
} catch (e) {
  console.error(`Demo failed: ${(e as Error).message}`);
  stopAll();
  process.exit(1);
}
