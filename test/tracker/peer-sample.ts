/** Test helpers: a PeerSample (the store's wire-form pick) built from PeerInfo objects. */
import { compactAddressInto } from '../../src/bittorrent/address.ts';
import type { PeerSample } from '../../src/tracker/protocol/answer.ts';
import type { PeerInfo } from '../../src/tracker/store/swarm-store.ts';

/** 6 bytes per IPv4 peer / 18 bytes per IPv6 peer: address then port, big-endian (BEP 23, BEP 7). */
export function compactPeers(peers: PeerInfo[], family: 4 | 6): Buffer {
  let n = 0;
  for (const p of peers) if (p.family === family) n++;
  const out = Buffer.allocUnsafe(n * (family === 4 ? 6 : 18));
  let at = 0;
  for (const p of peers) if (p.family === family) at = compactAddressInto(out, at, p.ip, p.family, p.port);
  return out;
}

/** A sample of the given peers, in their order. */
export function peerSample(peers: PeerInfo[], withIds = true): PeerSample {
  const ids = (family: 4 | 6) => Buffer.concat(peers.filter((p) => p.family === family).map((p) => p.peerId));
  return { v4: compactPeers(peers, 4), v6: compactPeers(peers, 6), ...(withIds ? { ids4: ids(4), ids6: ids(6) } : {}) };
}
