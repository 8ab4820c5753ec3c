/**
 * A local DHT (test/support/local-dht.ts) as a process of its own, for tests whose clients run in
 * a network namespace: `node --import tsx local-dht-child.ts COUNT` prints `bootstrap 127.0.0.1:P`
 * once every node is up, and runs until SIGTERM.
 */
import { startLocalDht } from './local-dht.ts';

const local = await startLocalDht(Number(process.argv[2] ?? 20));
console.log(`bootstrap ${local.bootstrap}`);
const stop = () => void local.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
