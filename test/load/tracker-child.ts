/**
 * The tracker for `npm run soak -- --only tracker-soak`, in a process of its own that the soak
 * driver talks to over IPC. It wires the compiled modules of `dist/` exactly as `dist/tracker.js`
 * does (MemorySwarmStore with a time-to-live of 2 x interval, createTrackerServer, the same
 * server timeouts) and adds what a black box cannot tell: `store.counts()` and, after `gc()`,
 * `process.memoryUsage().heapUsed`.
 *
 *   node --expose-gc --import tsx test/load/tracker-child.ts --port 0 --interval 10
 *
 * IPC: sends {type:'ready', port}; answers {type:'stats', gc?: boolean} with
 * {type:'stats', swarms, peers, heapUsed, rss}; exits on {type:'stop'} or when the parent goes.
 */
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (p: string) => pathToFileURL(path.join(ROOT, 'dist', p)).href;

// Types from src, code from dist (what `npm run tracker` runs).
const { MemorySwarmStore } = (await import(dist('tracker/store/memory-store.js'))) as typeof import('../../src/tracker/store/memory-store.ts');
const { createTrackerServer } = (await import(dist('tracker/http/server.js'))) as typeof import('../../src/tracker/http/server.ts');
const { trackerConfig } = (await import(dist('tracker/service.js'))) as typeof import('../../src/tracker/service.ts');
const { listen } = (await import(dist('net/server-timeouts.js'))) as typeof import('../../src/net/server-timeouts.ts');

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const interval = flag('interval', 10);
const config = trackerConfig(interval);
const store = new MemorySwarmStore(2 * config.interval * 1000);
const tracker = createTrackerServer(store, config);
await listen(tracker.server, flag('port', 0), '127.0.0.1');

const gc = (globalThis as { gc?: () => void }).gc;
if (!process.send) throw new Error('tracker-child.ts needs an IPC channel (spawn it with stdio "ipc")');

process.on('message', (m: { type: string; gc?: boolean }) => {
  if (m.type === 'stats') {
    if (m.gc && gc) {
      gc();
      gc();
    }
    void store.counts().then(({ swarms, peers }) => {
      const mem = process.memoryUsage();
      process.send!({ type: 'stats', swarms, peers, heapUsed: mem.heapUsed, rss: mem.rss, gcAvailable: !!gc });
    });
  } else if (m.type === 'stop') {
    void tracker.stop().then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready', port: (tracker.server.address() as AddressInfo).port });
