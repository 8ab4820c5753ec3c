/**
 * Pure: one row per remote peer of a torrent, merged from the three places that know of it: the
 * wire connections (either side dialled), the download's sources (our HTTP API, wire, web seeds)
 * and the HTTP clients fetching from us. A peer of ours met both ways over HTTP (it fetches from
 * us, we fetch from it) is one row, keyed `http://ip:port`; a wire peer is keyed by its peer_id.
 */
import { hostPort, urlHost } from '../../bittorrent/address.ts';
import { clientName } from './client-name.ts';
import type { HttpClientRecord, SourceReport } from './torrent-stats.ts';

/** Rows listed at most (connections are capped at 200 per kind already). */
export const MAX_PEER_ROWS = 300;

export type PeerTransport = 'http' | 'tcp' | 'utp' | 'mse' | 'webseed';

export interface PeerRow {
  key: string;
  /** Our HTTP piece API, BitTorrent over TCP / uTP / encrypted (MSE), or a BEP 19 web seed. */
  transport: PeerTransport;
  /** Other connections to the same peer (same address and listen port), merged into this row. */
  also: PeerTransport[];
  address: string;
  client: string;
  /** Bytes received from it / sent to it. */
  downloaded: number;
  uploaded: number;
  /** Bytes per second each way over the last sample (0 until sampled). */
  downRate: number;
  upRate: number;
  /** Verified pieces it gave us. */
  piecesGiven: number;
  /** Pieces it holds (wire peers tell; null when unknown). */
  has: number | null;
}

/** What a row needs of a wire connection (read from WireConnection at the edge). */
export interface WireFacts {
  peerId: Buffer;
  /** BEP 10 `v`, if it sent one. */
  version: string | undefined;
  remote: string;
  transport: 'tcp' | 'utp' | 'mse';
  downloaded: number;
  uploaded: number;
  has: number;
}

export interface RowInputs {
  wires: WireFacts[];
  sources: SourceReport[];
  httpClients: HttpClientRecord[];
  /** Our own peer_id prefix's name, for HTTP peers (only our peers speak our HTTP API). */
  ourClient: string;
}

/** Previous per-peer byte totals and rates, by row key (see PeerRates). */
export type RateLookup = (key: string) => { down: number; up: number } | undefined;

function blankRow(key: string, transport: PeerTransport, address: string, client: string): PeerRow {
  return { key, transport, also: [], address, client, downloaded: 0, uploaded: 0, downRate: 0, upRate: 0, piecesGiven: 0, has: null };
}

export function wireKey(peerId: Buffer): string {
  return `wire:${peerId.toString('hex')}`;
}

/** Every peer of the torrent, most active first. */
export function peerRows(inp: RowInputs, rates: RateLookup = () => undefined): PeerRow[] {
  const rows = new Map<string, PeerRow>();
  for (const w of inp.wires) {
    const row = blankRow(wireKey(w.peerId), w.transport, w.remote, clientName(w.peerId, w.version));
    row.downloaded = w.downloaded;
    row.uploaded = w.uploaded;
    row.has = w.has;
    rows.set(row.key, row);
  }
  for (const s of inp.sources) {
    let row = rows.get(s.id);
    if (!row && !s.live) continue; // a dropped source that is not connected any more
    if (!row) {
      const kind: PeerTransport = s.id.startsWith('webseed:') ? 'webseed' : 'http';
      row = blankRow(s.id, kind, s.label, kind === 'webseed' ? 'web server' : inp.ourClient);
      row.downloaded = s.received;
      rows.set(s.id, row);
    }
    row.piecesGiven = s.pieces;
  }
  for (const c of inp.httpClients) {
    const base = c.port === undefined ? `http://${urlHost(c.address)}` : `http://${urlHost(c.address)}:${c.port}`;
    const key = c.webSeed ? `webseed-client:${base}` : base;
    let row = rows.get(key);
    if (!row) {
      const client = c.webSeed ? 'web seed client' : c.port === undefined ? 'HTTP client' : inp.ourClient;
      row = blankRow(key, c.webSeed ? 'webseed' : 'http', c.port === undefined ? c.address : hostPort(c.address, c.port), client);
      rows.set(key, row);
    }
    row.uploaded += c.uploaded;
  }
  for (const r of rows.values()) {
    const rate = rates(r.key);
    if (rate) ({ down: r.downRate, up: r.upRate } = rate);
  }
  const list = mergeSamePeer([...rows.values()]);
  list.sort((a, b) => b.downRate + b.upRate - (a.downRate + a.upRate) || b.downloaded + b.uploaded - (a.downloaded + a.uploaded) || (a.key < b.key ? -1 : 1));
  return list.slice(0, MAX_PEER_ROWS);
}

/**
 * A peer of ours is often reached twice: over its HTTP API and over a wire connection (the
 * seeding side dials every peer the tracker lists). Rows with the same `ip:port` (a wire peer's
 * BEP 10 listen port) are one peer: one row, its transports listed, its numbers added.
 */
function mergeSamePeer(list: PeerRow[]): PeerRow[] {
  const byAddress = new Map<string, PeerRow>();
  const out: PeerRow[] = [];
  for (const r of list) {
    const same = /:\d+$/.test(r.address) ? byAddress.get(r.address) : undefined;
    if (!same) {
      byAddress.set(r.address, r);
      out.push(r);
      continue;
    }
    if (r.transport !== same.transport && !same.also.includes(r.transport)) same.also.push(r.transport);
    if (same.transport === 'http' && r.transport !== 'http') same.client = r.client; // its own name, from the wire
    same.downloaded += r.downloaded;
    same.uploaded += r.uploaded;
    same.downRate += r.downRate;
    same.upRate += r.upRate;
    same.piecesGiven += r.piecesGiven;
    if (r.has !== null) same.has = Math.max(same.has ?? 0, r.has);
  }
  return out;
}

/** Per-peer rates from two successive samples of the rows' byte totals. */
export class PeerRates {
  private last = new Map<string, { at: number; down: number; up: number; downRate: number; upRate: number }>();

  /** Sample the rows' totals at `at`; peers gone since the last sample are forgotten. */
  sample(rows: PeerRow[], at: number): void {
    const next = new Map<string, { at: number; down: number; up: number; downRate: number; upRate: number }>();
    for (const r of rows) {
      const prev = this.last.get(r.key);
      const seconds = prev ? (at - prev.at) / 1000 : 0;
      const downRate = seconds > 0 ? Math.max(0, r.downloaded - prev!.down) / seconds : 0;
      const upRate = seconds > 0 ? Math.max(0, r.uploaded - prev!.up) / seconds : 0;
      next.set(r.key, { at, down: r.downloaded, up: r.uploaded, downRate, upRate });
    }
    this.last = next;
  }

  readonly lookup: RateLookup = (key) => {
    const r = this.last.get(key);
    return r && { down: r.downRate, up: r.upRate };
  };
}
