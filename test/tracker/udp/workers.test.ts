/**
 * `--workers 2` on one real redis-server, the UDP side on each I/O path. With the native batch
 * addon each worker binds its own socket with SO_REUSEPORT (the kernel spreads clients by address
 * and port): both workers answer, every announce is answered, and another program still cannot
 * take the port. On node:dgram the primary shares one socket with the workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { rawRequest } from '../../support/raw-request.ts';
import { freePort, TestScope, within } from '../../support/procs.ts';
import { redisSuite } from '../../support/redis-suite.ts';
import { announcePacket, errorText, UdpProbe } from './udp-probe.ts';
import { UDP_IOS } from './udp-world.ts';

const scope = new TestScope('p2p-udp-workers-');
const CLIENTS = 24;

async function processes(port: number): Promise<Array<{ pid: number; announces: number }>> {
  const r = await within(rawRequest({ port, path: '/stats' }), 10_000, '/stats');
  return (JSON.parse(r.body.toString()) as { processes: Array<{ pid: number; announces: number }> }).processes;
}

redisSuite('--workers over UDP needs redis-server', () => scope.cleanup(), (redis) => {
  for (const io of UDP_IOS) {
    test(`--workers 2 (${io}): every UDP announce answered${io === 'batch' ? ', by both workers; the port stays theirs' : ''}`, async () => {
      const port = await freePort();
      const env = { P2P_UDP_BATCH: io === 'batch' ? '1' : '0', NODE_DEBUG: 'p2p-udp' };
      const proc = scope.spawn('tracker', ['--port', String(port), '--workers', '2', '--store', (await redis()).url], { cwd: await scope.dir(), env });
      await proc.waitFor(/\* Running on http:\/\/127\.0\.0\.1:\d+/, 30_000);
      const choice = io === 'batch' ? /udp tracker I\/O: native recvmmsg/g : /udp tracker I\/O: node:dgram/g;
      assert.equal(proc.err().match(choice)?.length, 2, `one choice line per worker:\n${proc.err()}`);

      const hash = Buffer.alloc(20, io === 'batch' ? 0xb1 : 0xd1);
      const probes = await Promise.all(Array.from({ length: CLIENTS }, () => UdpProbe.open('127.0.0.1', port)));
      try {
        for (const p of probes) {
          const id = await p.connect();
          const a = await p.ask(announcePacket({ connectionId: id, transactionId: p.tid(), infoHash: hash, port: p.port }));
          assert.ok(a !== null && a.readUInt32BE(0) === 1, `announce answered: ${a === null ? 'nothing' : errorText(a)}`);
        }
      } finally {
        for (const p of probes) p.close();
      }
      const per = await processes(port);
      assert.equal(per.reduce((n, p) => n + p.announces, 0), CLIENTS);
      if (io !== 'batch') return;
      // 24 client ports hashed over two sockets: all on one would be a 1 in 2^23 chance.
      assert.ok(per.length === 2 && per.every((p) => p.announces > 0), `both workers answer: ${JSON.stringify(per)}`);
      const squatter = dgram.createSocket('udp4');
      await assert.rejects(new Promise<void>((resolve, reject) => {
        squatter.once('error', reject);
        squatter.bind(port, '127.0.0.1', resolve);
      }), /EADDRINUSE/, 'a program without SO_REUSEPORT cannot join the port');
      squatter.close();
    });
  }
});
