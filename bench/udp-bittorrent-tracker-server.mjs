// The bittorrent-tracker anchor with its UDP server (BEP 15) on, for bench/tracker-udp.ts: UDP on
// 127.0.0.1:<port> (and ::1, which it always opens beside it), HTTP on the same port number for the
// shared pre-population loader (bench/tracker-load.ts). Plain node, its own process.
//   node bench/udp-bittorrent-tracker-server.mjs PORT
// bench/bittorrent-tracker-server.mjs is the HTTP-only one; the root module pulls in WebRTC, so
// the server module is imported directly.
import Server from './.anchors/node_modules/bittorrent-tracker/server.js';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node bench/udp-bittorrent-tracker-server.mjs PORT');
  process.exit(2);
}
const server = new Server({ udp: true, ws: false, http: true, stats: false, interval: 1800 * 1000 });
server.on('error', (err) => {
  console.error(`bittorrent-tracker error: ${err.message}`);
  process.exit(1);
});
server.on('warning', () => {}); // bad requests are warnings; nothing to print under load
const shutdown = () => server.close(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
server.listen(port, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' }, () => console.log(`bittorrent-tracker listening on http://127.0.0.1:${port} and udp://127.0.0.1:${port}`));
