// The bittorrent-tracker anchor in its own process (plain node, no tsx): an HTTP-only tracker on
// 127.0.0.1:<port>, as bench/tracker-announce.ts and bench/memory.ts run it.
//   node bench/bittorrent-tracker-server.mjs PORT
// The package lives in bench/.anchors/ (see bench/README.md); its root module pulls in WebRTC,
// so the server module is imported directly.
import Server from './.anchors/node_modules/bittorrent-tracker/server.js';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node bench/bittorrent-tracker-server.mjs PORT');
  process.exit(2);
}
const server = new Server({ udp: false, ws: false, http: true, stats: false, interval: 1800 * 1000 });
server.on('error', (err) => {
  console.error(`bittorrent-tracker error: ${err.message}`);
  process.exit(1);
});
server.on('warning', () => {}); // bad requests are warnings; nothing to print under load
const shutdown = () => server.close(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
server.listen(port, '127.0.0.1', () => console.log(`bittorrent-tracker listening on http://127.0.0.1:${port}`));
