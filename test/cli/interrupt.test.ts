/**
 * Ctrl-C at a prompt on a terminal: the program ends as interrupted (status 130, the shell's
 * convention), with a new line after the `^C`, not an error. The terminal is a real pty (Python's
 * pty module drives the program: Node has no pty of its own).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, skipOrFail } from '../support/procs.ts';

/** Start argv on a pty, wait for `prompt`, type Ctrl-C; prints the exit status and the output. */
const DRIVER = `
import os, pty, select, sys, time
argv, prompt = sys.argv[2:], sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out, start = b'', time.time()
while prompt not in out and time.time() - start < 20:
    if select.select([fd], [], [], 0.2)[0]:
        out += os.read(fd, 4096)
os.write(fd, b'\\x03')
_, status = os.waitpid(pid, 0)
print(os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status))
print(out.decode('utf8', 'replace'))
`;

for (const [entry, prompt] of [['seeder', 'Enter the file name to share'], ['requester', 'Enter the path to the .torrent file']] as const) {
  test(`${entry}: Ctrl-C at the prompt exits 130 with no error`, async (t) => {
    if (!existsSync('/usr/bin/python3')) return skipOrFail(t, '/usr/bin/python3 not installed: apt-get install -y python3');
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'p2p-ctrlc-'));
    try {
      const r = spawnSync('/usr/bin/python3', ['-c', DRIVER, prompt, process.execPath, path.join(ROOT, 'dist', `${entry}.js`)], { cwd, encoding: 'utf8', timeout: 30_000 });
      const [status, ...rest] = r.stdout.split('\n');
      assert.equal(status, '130', `status\n${r.stdout}\n${r.stderr}`);
      assert.match(rest.join('\n'), new RegExp(prompt), 'the prompt was shown');
      assert.doesNotMatch(rest.join('\n'), /Error/, 'no error printed');
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
}
