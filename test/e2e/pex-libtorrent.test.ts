/**
 * Peer exchange with libtorrent 2.0 as the judge (BEP 11), in a loopback-only network namespace,
 * a torrent with no tracker at all (peers come only from `--peer`, libtorrent's `peers`, and PEX):
 *  - libtorrent learns a peer from our PEX: leecher X knows only our requester R, which is
 *    downloading from the libtorrent seeder L; X and L end up connected, source "pex";
 *  - we learn peers from libtorrent's PEX: our requester R2 knows only X, is told of peers by
 *    X's message and connects to L.
 * Our PEX interval is 10 s here (P2P_PEX_INTERVAL_MS): libtorrent disconnects a peer that sends
 * it more than 6 PEX messages a minute. L is rate-capped so that nobody finishes during the test
 * (two seeds would drop each other, and their connection with it).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort } from '../support/procs.ts';
import { requireNetns } from '../support/netns.ts';
import { withNetnsWorld } from '../support/netns-world.ts';
import { makeTorrentWithLibtorrent, requireLibtorrent, type LtConfig } from '../../harness/libtorrent.ts';
import { ltLeecher, ltPeer, MiB, randomFile, transcript } from '../support/libtorrent-world.ts';
import { PEX_INTERVAL_ENV } from '../../src/peer/pex-hub.ts';

process.env[PEX_INTERVAL_ENV] = '10000'; // inherited by our programs in the namespace

const needs = (t: TestContext) => requireNetns(t) && requireLibtorrent(t);
const TCP_ONLY: Partial<LtConfig> = { enable_outgoing_utp: false, enable_incoming_utp: false };
const OURS = ['--protocol', 'wire', '--transport', 'tcp', '--wait', '60'];

test('PEX with libtorrent: it learns our peer from us, and we learn its peers from it', { timeout: 90_000 }, async (t) => {
  if (!needs(t)) return;
  await withNetnsWorld('p2p-pex-lt-', async (w) => {
    const name = 'ltpex.bin';
    await randomFile(w.dir, name, 8 * MiB + 1234);
    const torrent = path.join(w.dir, `${name}.torrent`);
    await makeTorrentWithLibtorrent({ file: path.join(w.dir, name), torrent, pieceLength: 256 * 1024 });
    const l = await ltPeer(w, { role: 'seeder', torrent, save_path: w.dir, upload_rate_limit: 256 * 1024, ...TCP_ONLY }, 'libtorrent seeder L');
    await l.waitFor((x) => x.state === 'seeding', 20_000, 'L seeding');

    const rPort = await freePort();
    const r = w.cli('requester', [torrent, '--port', String(rPort), '--out', 'r', '--peer', `127.0.0.1:${l.port}`, ...OURS]);
    await r.waitFor(new RegExp(`from Seeder 127\\.0\\.0\\.1:${l.port} \\(BitTorrent`), 20_000);

    // X knows only R. R's PEX names L to X (the port R dialled) and X to L (the `p` of X's
    // handshake): whichever of them dials first, the X-L connection comes from our PEX, as L and
    // X know each other from nobody else; libtorrent marks its source "pex".
    const x = (await ltLeecher(w, torrent, name, { peers: [`127.0.0.1:${rPort}`], download_rate_limit: 256 * 1024, ...TCP_ONLY })).lt;
    const viaPex = await x
      .waitFor((line) => (line.peers ?? []).some((p) => /libtorrent/.test(p.client) && p.source.includes('pex')), 30_000, 'X connected to L, learnt by PEX')
      .catch((e: Error) => assert.fail(`${e.message}\n${x.transcript()}\n${transcript(['R', r])}`));
    t.diagnostic(`X's peers: ${JSON.stringify(viaPex.peers?.map((p) => ({ port: p.port, client: p.client, source: p.source })))}`);

    // R2 knows only X; X's PEX names L and R.
    const r2 = w.cli('requester', [torrent, '--port', String(await freePort()), '--out', 'r2', '--peer', `127.0.0.1:${x.port}`, ...OURS]);
    await r2
      .waitFor(new RegExp(`^Peer exchange: 127\\.0\\.0\\.1:${x.port} told us of [1-9]\\d* peer`, 'm'), 30_000)
      .catch((e: Error) => assert.fail(`${e.message}\n${x.transcript()}`));
    await r2.waitFor(new RegExp(`^Downloading ${name.replace('.', '\\.')} from Seeder 127\\.0\\.0\\.1:${l.port} \\(BitTorrent protocol\\)$`, 'm'), 20_000);
    t.diagnostic(`R2: ${r2.out().replace(/\r/g, '\n').split('\n').filter((s) => !s.startsWith('Progress')).join(' | ')}`);
  });
});
