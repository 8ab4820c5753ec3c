// The bittorrent-tracker anchor in its own process (plain node, no tsx): an HTTP tracker on
// 127.0.0.1:<port>, as bench/tracker-announce.ts and bench/memory.ts run it; with `udp`, its UDP
// server (BEP 15) on the same port number too (and ::1, which it always opens beside it), as
// bench/tracker-udp.ts runs it (HTTP then serves the shared pre-population loader).
//   node bench/bittorrent-tracker-server.mjs PORT [udp]
// The package lives in bench/.anchors/ (see bench/README.md); its root module pulls in WebRTC,
// so the server module is imported directly.
import Server from './.anchors/node_modules/bittorrent-tracker/server.js';

const port = Number(process.argv[2]);
const udp = process.argv[3] === 'udp';
if (!Number.isInteger(port) || port < 1 || port > 65535 || (process.argv[3] !== undefined && !udp)) {
  console.error('usage: node bench/bittorrent-tracker-server.mjs PORT [udp]');
  process.exit(2);
}
const server = new Server({ udp, ws: false, http: true, stats: false, interval: 1800 * 1000 });
server.on('error', (err) => {
  console.error(`bittorrent-tracker error: ${err.message}`);
  process.exit(1);
});
server.on('warning', () => {}); // bad requests are warnings; nothing to print under load
const shutdown = () => server.close(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
const where = udp ? { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' } : '127.0.0.1';
const also = udp ? ` and udp://127.0.0.1:${port}` : '';
server.listen(port, where, () => console.log(`bittorrent-tracker listening on http://127.0.0.1:${port}${also}`));
