/**
 * Test support for the metadata phase: a torrent whose info dict spans several ut_metadata
 * pieces, served by a real PeerNode, and fake wire peers that lie about it in one chosen way.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { encode as bencode } from '../../src/metainfo/bencode.ts';
import { parseMetainfo, type Metainfo } from '../../src/metainfo/metainfo.ts';
import { Bitfield } from '../../src/bittorrent/bitfield.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import type { PieceStore } from '../../src/storage/piece-store.ts';
import { decodeHandshake, encode, encodeHandshake, HANDSHAKE_LENGTH, MessageParser, reservedBytes } from '../../src/peer/wire/messages.ts';
import { decodeUtMetadata, encodeUtMetadata, METADATA_PIECE, metadataPieceCount, metadataPieceLength } from '../../src/peer/wire/ut-metadata.ts';

/** A torrent with `pieces` pieces: its info dict is about 20 x pieces bytes (3,000 -> 4 metadata pieces). */
export function bigInfoTorrent(pieces = 3000): Metainfo {
  const info = bencode({ length: pieces * 16384, name: 'big.bin', 'piece length': 16384, pieces: randomBytes(20 * pieces) });
  return parseMetainfo(Buffer.concat([Buffer.from('d4:info'), info, Buffer.from('e')]));
}

/** A PeerNode on 127.0.0.1 sharing `meta` with no pieces (it serves only the metadata). */
export async function metadataOnlyNode(meta: Metainfo): Promise<PeerNode> {
  const node = new PeerNode();
  // No piece is held, so the store is never read.
  node.share({ meta, store: {} as PieceStore, have: new Bitfield(meta.pieceCount) });
  await node.listen(0, '127.0.0.1');
  return node;
}

export type Lie = 'wrong-hash' | 'absurd-size' | 'out-of-range' | 'other-size' | 'junk-handshake' | 'short-piece';

/** A wire peer that claims `meta`'s info hash and lies about its metadata as `lie` says. */
export async function lyingPeer(meta: Metainfo, lie: Lie): Promise<{ port: number; served: Promise<void>; close(): void }> {
  let served!: () => void;
  const servedP = new Promise<void>((r) => (served = r));
  const raw = lie === 'wrong-hash' ? Buffer.from(meta.rawInfo).fill(0x61, 10, 20) : meta.rawInfo;
  const size = lie === 'absurd-size' ? 1 << 30 : raw.length;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    let pre = Buffer.alloc(0);
    const parser = new MessageParser({ maxMessage: 1 << 20 });
    let theirId = 0;
    s.on('data', (c: Buffer) => {
      if (pre.length < HANDSHAKE_LENGTH) {
        pre = Buffer.concat([pre, c]);
        if (pre.length < HANDSHAKE_LENGTH) return;
        const hs = decodeHandshake(pre.subarray(0, HANDSHAKE_LENGTH));
        s.write(encodeHandshake(hs.infoHash, randomBytes(20), reservedBytes(['extensions'])));
        const ext = lie === 'junk-handshake' ? Buffer.from('d1:md11:ut_metadatai3e') : bencode({ m: { ut_metadata: 3 }, metadata_size: size });
        s.write(encode({ type: 'extended', id: 0, payload: ext }));
        c = pre.subarray(HANDSHAKE_LENGTH);
        if (lie === 'absurd-size' || lie === 'junk-handshake') served();
      }
      for (const m of parser.push(c)) {
        if (m.type !== 'extended') continue;
        if (m.id === 0) {
          theirId = 2; // what our fetcher calls ut_metadata (OUR_EXTENSIONS)
          continue;
        }
        const r = decodeUtMetadata(m.payload);
        if (r.type !== 'request') continue;
        const count = metadataPieceCount(raw.length);
        let piece = r.piece;
        let data = raw.subarray(piece * METADATA_PIECE, piece * METADATA_PIECE + metadataPieceLength(raw.length, piece));
        let totalSize = size;
        if (lie === 'out-of-range') piece = count + 5;
        if (lie === 'other-size') totalSize = size + 1;
        if (lie === 'short-piece') data = data.subarray(1);
        s.write(encode({ type: 'extended', id: theirId, payload: encodeUtMetadata({ type: 'data', piece, totalSize, data }) }));
        if (r.piece === count - 1 || lie !== 'wrong-hash') served();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    served: servedP,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
