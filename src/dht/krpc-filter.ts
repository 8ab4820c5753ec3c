/**
 * The gate in front of bittorrent-dht (BEP 5 KRPC), pure: every datagram is decoded here with our
 * bounded decoder and checked field by field before the library sees it. The library decodes with
 * the `bencode` package (which loops on `l-3:` until the process dies, and lets `__proto__`
 * replace a prototype), then calls Buffer methods on fields it never type-checks
 * (`token.equals`, `info_hash.toString('hex')`, `r.id` in `peer.id.equals`): a number where a
 * string belongs throws out of its UDP handler and would end the process. So only the four BEP 5
 * queries and their answers pass, with every field the library touches of the right type and size.
 */
import { decode, encode, isBytes, isDict, isInt, isList, type BDict, type BValue } from '../metainfo/bencode.ts';

/** Longest datagram accepted: a KRPC answer with 100 peers is about 900 bytes; the Ethernet MTU is 1500. */
export const MAX_KRPC_DATAGRAM = 1500;
/** Most nodes in a `nodes` string (BEP 5 answers carry 8; some carry 16). */
export const MAX_NODES = 32;
/** Most peers in a `values` list: the library turns each into a dial. */
export const MAX_VALUES = 100;
/** Longest token: real ones are 4 to 20 bytes; the library keeps one per node per lookup, and sends it back. */
export const MAX_TOKEN = 64;
/** Longest transaction id (k-rpc-socket's are 2 bytes, libtorrent's 2 to 4). */
const MAX_TID = 16;
const ID_LENGTH = 20;
const NODE_LENGTH = 26;
const LIMITS = { maxDepth: 4, maxTokens: 2 * MAX_VALUES + 64 };
const QUERIES = new Set(['ping', 'find_node', 'get_peers', 'announce_peer']);

/** Why a datagram is refused, or null when it may reach the library. */
export function krpcRefusal(datagram: Buffer): string | null {
  if (datagram.length > MAX_KRPC_DATAGRAM) return `${datagram.length} bytes`;
  if (datagram[0] !== 0x64) return 'not a dictionary'; // 'd': uTP packets never start so
  let m: BValue;
  try {
    m = decode(datagram, LIMITS);
  } catch (e) {
    return (e as Error).message;
  }
  if (hasProtoKey(m)) return 'a __proto__ key';
  if (!isDict(m)) return 'not a dictionary';
  if (!bytes(m['t'], 1, MAX_TID)) return 'bad transaction id';
  const y = isBytes(m['y']) ? m['y'].toString('latin1') : '';
  if (y === 'q') return queryRefusal(m);
  if (y === 'r') return isDict(m['r']) ? answerRefusal(m['r']) : 'answer without r';
  if (y === 'e') return isList(m['e']) ? null : 'error without e';
  return 'unknown message type';
}

function queryRefusal(m: BDict): string | null {
  const q = isBytes(m['q']) ? m['q'].toString('latin1') : '';
  if (!QUERIES.has(q)) return `query ${q.slice(0, 20)} not served`;
  const a = m['a'];
  if (!isDict(a) || !bytes(a['id'], ID_LENGTH, ID_LENGTH)) return 'query without a node id';
  if (q === 'find_node' && !bytes(a['target'], ID_LENGTH, ID_LENGTH)) return 'find_node without a 20-byte target';
  if ((q === 'get_peers' || q === 'announce_peer') && !bytes(a['info_hash'], ID_LENGTH, ID_LENGTH)) return `${q} without a 20-byte info_hash`;
  if (q !== 'announce_peer') return null;
  if (!bytes(a['token'], 1, MAX_TOKEN)) return 'announce_peer without a token';
  if (!optionalInt(a['port'], 0, 65535) || !optionalInt(a['implied_port'], 0, 1)) return 'announce_peer with a bad port';
  return null;
}

function answerRefusal(r: BDict): string | null {
  if (!bytes(r['id'], ID_LENGTH, ID_LENGTH)) return 'answer without a node id';
  const nodes = r['nodes'];
  if (nodes !== undefined && !(isBytes(nodes) && nodes.length % NODE_LENGTH === 0 && nodes.length <= MAX_NODES * NODE_LENGTH)) return 'bad nodes';
  if (r['token'] !== undefined && !bytes(r['token'], 1, MAX_TOKEN)) return 'bad token';
  const values = r['values'];
  if (values !== undefined && !(isList(values) && values.length <= MAX_VALUES && values.every((v) => bytes(v, 6, 6)))) return 'bad values';
  return null;
}

function bytes(v: BValue | undefined, min: number, max: number): boolean {
  return isBytes(v) && v.length >= min && v.length <= max;
}

function optionalInt(v: BValue | undefined, min: number, max: number): boolean {
  return v === undefined || (isInt(v) && v >= min && v <= max);
}

/** Our decoder's dicts have no prototype; the library's do, and `__proto__` would rewrite one. */
function hasProtoKey(v: BValue): boolean {
  if (isList(v)) return v.some(hasProtoKey);
  if (!isDict(v)) return false;
  return Object.keys(v).some((k) => k === '__proto__' || hasProtoKey(v[k]!));
}

/** Largest datagram we send: fragments are often dropped, and an answer must not amplify. */
export const MAX_OUTGOING = 1400;

/**
 * Our own answer made to fit MAX_OUTGOING: the library answers get_peers with every peer it holds
 * for the torrent, so a `values` list is cut to a random MAX_VALUES / 2; anything else too long
 * is dropped (null).
 */
export function fitOutgoing(datagram: Buffer): Buffer | null {
  if (datagram.length <= MAX_OUTGOING) return datagram;
  let m: BValue;
  try {
    m = decode(datagram, { maxDepth: 4, maxTokens: 100_000 });
  } catch {
    return null;
  }
  const r = isDict(m) ? m['r'] : undefined;
  if (!isDict(r) || !isList(r['values'])) return null;
  const values = r['values'];
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  values.length = Math.min(values.length, MAX_VALUES / 2);
  const out = encode(m);
  return out.length <= MAX_OUTGOING ? out : null;
}
