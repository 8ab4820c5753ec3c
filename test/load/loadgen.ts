/**
 * A small HTTP load generator for when `wrk` is not installed (autocannon-like): C keep-alive
 * connections, each with one request in flight, for a fixed time, announcing the same requests
 * as test/load/announce.lua. Runs in a process of its own so that it does not share an event loop
 * with what it measures; prints one `LOADGEN_JSON {...}` line in the format of announce.lua's
 * `WRK_JSON`.
 *
 *   node --import tsx test/load/loadgen.ts --port P --seconds 60 --connections 64 --hashes FILE [--peers 20 --port-base 30000]
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';

function flag(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const port = Number(flag('port'));
const seconds = Number(flag('seconds', '60'));
const connections = Number(flag('connections', '64'));
const peers = Number(flag('peers', '20'));
const portBase = Number(flag('port-base', '30000'));
const hashes = readFileSync(flag('hashes'), 'latin1')
  .split('\n')
  .filter((l) => l.length === 40)
  .map((h) => h.replace(/../g, '%$&'));

const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const latencies: number[] = [];
const counts = { requests: 0, bytes: 0, connect_errors: 0, read_errors: 0, write_errors: 0, status_errors: 0, timeouts: 0, s2xx: 0, s4xx: 0, s5xx: 0, other: 0, failures: 0 };

function one(): Promise<void> {
  const t = Math.floor(Math.random() * hashes.length);
  const slot = Math.floor(Math.random() * peers);
  const left = slot >= peers / 4 ? '268435456' : '0';
  const event = Math.random() < 0.05 ? '&event=started' : '';
  const path =
    `/announce?info_hash=${hashes[t]}&peer_id=-SK0001-${String(t % 1e6).padStart(6, '0')}${String(slot).padStart(6, '0')}` +
    `&port=${portBase + slot}&uploaded=0&downloaded=0&left=${left}&compact=1&numwant=50&key=${slot}${event}`;
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
        counts.requests++;
        counts.bytes += body.length;
        const s = res.statusCode ?? 0;
        if (s >= 200 && s < 300) {
          counts.s2xx++;
          if (body.subarray(0, 17).toString('latin1') === 'd14:failure reason') counts.failures++;
        } else if (s >= 400 && s < 500) counts.s4xx++;
        else if (s >= 500) counts.s5xx++;
        else counts.other++;
        if (s >= 400) counts.status_errors++;
        resolve();
      });
      res.on('error', () => {
        counts.read_errors++;
        resolve();
      });
    });
    req.on('timeout', () => {
      counts.timeouts++;
      req.destroy();
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') counts.connect_errors++;
      else if (!req.destroyed || e.code !== 'ECONNRESET') counts.read_errors++;
      resolve();
    });
  });
}

const start = Date.now();
const end = start + seconds * 1000;
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (Date.now() < end) await one();
  }),
);
const duration = Date.now() - start;
agent.destroy();
latencies.sort((a, b) => a - b);
const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0);
const mean = latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length);
console.log(
  'LOADGEN_JSON ' +
    JSON.stringify({ ...counts, duration_us: duration * 1000, p50_us: pct(50), p90_us: pct(90), p99_us: pct(99), max_us: Math.round(latencies[latencies.length - 1] ?? 0), mean_us: mean }),
);
