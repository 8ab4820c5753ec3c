/**
 * Throughput of one uTP connection over loopback (not a test: run by hand and quoted in reports).
 *   node --import tsx test/peer/utp/measure-throughput.ts [MiB=64] [loss=0]
 * Both endpoints (and the lossy proxy, when loss > 0) run in this one process, so the CPU time
 * is the whole cost of both ends.
 */
import { once } from 'node:events';
import type { UtpSocket } from '../../../src/peer/utp/utp-socket.ts';
import { endpoints, lossyProxy, randomData, readAll, sha1, writeAll } from './helpers.ts';

const mib = Number(process.argv[2] ?? 64);
const loss = Number(process.argv[3] ?? 0);
const { a, b, close } = await endpoints();
const proxy = loss > 0 ? await lossyProxy(b.address().port, loss, 0) : null;
const accepted = once(b, 'connection') as Promise<[UtpSocket]>;
const client = await a.connect('127.0.0.1', proxy?.port ?? b.address().port);
const [server] = await accepted;
const data = randomData(mib << 20);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const [got] = await Promise.all([readAll(server), writeAll(client, data)]);
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const stats = (client as unknown as { sender: { stats: object } }).sender.stats;
console.log(
  JSON.stringify({
    mib,
    loss,
    exact: got.bytes === data.length && got.sha1 === sha1(data),
    seconds: +secs.toFixed(2),
    MBps: +(data.length / 1e6 / secs).toFixed(1),
    cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    sender: stats,
    proxy: proxy?.stats,
  }),
);
await proxy?.close();
await close();
