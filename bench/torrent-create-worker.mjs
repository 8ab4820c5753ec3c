// One torrent creation in a fresh node process (plain node, no tsx), for bench/torrent-create.ts:
//   node bench/torrent-create-worker.mjs ours|create-torrent FILE OUT ANNOUNCE PIECE_LENGTH
// ours: makeTorrent from the compiled dist/metainfo/create.js (what the seeder runs; `npm run
// bench` builds dist/ first). create-torrent: the npm anchor in bench/.anchors/.
// Prints one JSON line: seconds spent importing the module and seconds creating the torrent.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

const [mode, file, out, announce, pieceLengthArg] = process.argv.slice(2);
const pieceLength = Number(pieceLengthArg);
if (!file || !out || !announce || !Number.isInteger(pieceLength)) {
  console.error('usage: node bench/torrent-create-worker.mjs ours|create-torrent FILE OUT ANNOUNCE PIECE_LENGTH');
  process.exit(2);
}
const t0 = performance.now();
let make;
if (mode === 'ours') {
  const { makeTorrent } = await import('../dist/metainfo/create.js');
  make = () => makeTorrent(file, path.basename(file), { announce, pieceLength });
} else if (mode === 'create-torrent') {
  const { default: createTorrent } = await import('./.anchors/node_modules/create-torrent/index.js');
  make = () =>
    new Promise((resolve, reject) =>
      createTorrent(file, { pieceLength, announceList: [[announce]], createdBy: 'bench' }, (err, torrent) => (err ? reject(err) : resolve(torrent))),
    );
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
const t1 = performance.now();
const torrent = await make();
const t2 = performance.now();
await writeFile(out, torrent);
console.log(JSON.stringify({ importSeconds: (t1 - t0) / 1000, createSeconds: (t2 - t1) / 1000 }));
