/** `--verbose`: one line per announce (pure formatter), and the real tracker printing it; `-q` prints nothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { announceLine } from '../../src/tracker/announce-log.ts';
import type { AnnounceRequest } from '../../src/tracker/protocol/announce.ts';
import { NotRegisteredError } from '../../src/tracker/service.ts';
import { freePort, runCli, tempDir } from '../support/procs.ts';

const req: AnnounceRequest = {
  infoHash: Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex'),
  peerId: Buffer.from('-qB4650-abcdefghijkl'),
  ip: '10.0.0.7',
  family: 4,
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 1234,
  event: 'started',
  numwant: 50,
  compact: true,
  noPeerId: false,
};

test('announceLine: who, what, and the answer in one line', () => {
  const answer = { interval: 1800, minInterval: 900, complete: 3, incomplete: 5, peers: { v4: Buffer.alloc(12), v6: Buffer.alloc(18) } };
  assert.equal(announceLine(req, answer), 'announce 01234567… from 10.0.0.7:6881 (-qB4650-, started, left 1234 B) -> 3 peers, 3 seeders 5 leechers');
  const seeding = { ...req, left: 0, event: 'none' as const, ip: '2001:db8::1', peerId: Buffer.alloc(20, 0x1b) };
  assert.equal(announceLine(seeding, new NotRegisteredError()), 'announce 01234567… from [2001:db8::1]:6881 (········, seeding) -> refused: torrent not registered', 'escape bytes never reach the terminal');
});

test('tracker -v prints each announce; -q prints nothing', { timeout: 30_000 }, async () => {
  const { dir, remove } = await tempDir('p2p-verbose-');
  try {
    for (const flag of ['-v', '-q']) {
      const port = await freePort();
      const proc = runCli('tracker', ['-p', String(port), '--no-udp', flag], { cwd: dir });
      try {
        await waitListening(port);
        await get(`http://127.0.0.1:${port}/announce?info_hash=${'%AB'.repeat(20)}&peer_id=-qB4650-abcdefghijkl&port=7000&uploaded=0&downloaded=0&left=0&compact=1`);
        if (flag === '-v') await proc.waitFor(/^announce abababab… from 127\.0\.0\.1:7000 \(-qB4650-, seeding\) -> 0 peers, 1 seeders 0 leechers$/m);
        else {
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(proc.out(), '', '-q: nothing on stdout');
        }
      } finally {
        proc.kill('SIGKILL');
        await proc.exited;
      }
    }
  } finally {
    await remove();
  }
});

function get(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await get(`http://127.0.0.1:${port}/nothing`).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('tracker did not listen');
}
