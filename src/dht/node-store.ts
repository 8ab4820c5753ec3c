/**
 * The DHT's routing table on disk (`.dht-nodes.json` in the peer's folder): our node id and the
 * nodes we knew, saved on exit and read on start, so the next run needs no bootstrap router.
 * The file is ours but lives among downloads: read bounded, every entry checked, a bad file ignored.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import net from 'node:net';

export const STATE_FILE_NAME = '.dht-nodes.json';
/** Nodes kept: a full routing table holds about 160 x 8 at most; the closest few hundred are plenty. */
export const MAX_SAVED_NODES = 300;
const MAX_FILE_BYTES = 64 * 1024;

export interface SavedNode {
  id: Buffer;
  host: string;
  port: number;
}

export interface DhtState {
  id: Buffer | undefined;
  nodes: SavedNode[];
}

/** Parse a saved table; anything malformed is left out (and a file that is not JSON gives nothing). */
export function parseState(text: string): DhtState {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return { id: undefined, nodes: [] };
  }
  const o = (j ?? {}) as { id?: unknown; nodes?: unknown };
  const id = isHexId(o.id) ? Buffer.from(o.id, 'hex') : undefined;
  const nodes: SavedNode[] = [];
  for (const n of Array.isArray(o.nodes) ? o.nodes.slice(0, MAX_SAVED_NODES) : []) {
    const { id: nid, host, port } = (n ?? {}) as { id?: unknown; host?: unknown; port?: unknown };
    if (isHexId(nid) && typeof host === 'string' && net.isIPv4(host) && Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536) {
      nodes.push({ id: Buffer.from(nid, 'hex'), host, port: port as number });
    }
  }
  return { id, nodes };
}

export function formatState(s: DhtState): string {
  const nodes = s.nodes.slice(0, MAX_SAVED_NODES).map((n) => ({ id: n.id.toString('hex'), host: n.host, port: n.port }));
  return `${JSON.stringify({ id: s.id?.toString('hex'), nodes })}\n`;
}

export async function loadState(file: string): Promise<DhtState> {
  try {
    const buf = await readFile(file);
    if (buf.length > MAX_FILE_BYTES) return { id: undefined, nodes: [] };
    return parseState(buf.toString('utf8'));
  } catch {
    return { id: undefined, nodes: [] };
  }
}

/** Write atomically (a crash mid-write leaves the old file). */
export async function saveState(file: string, s: DhtState): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, formatState(s));
  await rename(tmp, file);
}

function isHexId(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{40}$/i.test(v);
}
