/** A peer reached through our HTTP piece API (`/bitfield`, `/piece` with Range). */
import http from 'node:http';
import { Bitfield } from '../peer/bitfield.ts';
import type { PieceSource } from './source.ts';
import { httpGet } from '../net/http-client.ts';
import { urlHost } from '../net/server-timeouts.ts';

export class HttpPeerSource implements PieceSource {
  readonly id: string;
  readonly label: string;
  readonly maxBlock = 1024 * 1024;
  readonly maxInFlight = 4;
  private bitfield: Bitfield | undefined;
  private readonly base: string;
  // One agent per peer, so a slow peer cannot hold sockets that others need.
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  constructor(
    ip: string,
    port: number,
    private readonly infoHashHex: string,
    private readonly pieceCount: number,
    private readonly timeoutMs = 30_000,
  ) {
    this.label = `${ip}:${port}`;
    this.base = `http://${urlHost(ip)}:${port}`;
    this.id = this.base;
  }

  async connect(signal: AbortSignal): Promise<void> {
    const res = await httpGet(`${this.base}/bitfield/${this.infoHashHex}`, {
      timeoutMs: this.timeoutMs,
      maxBytes: Math.ceil(this.pieceCount / 8),
      agent: this.agent,
      signal,
    });
    if (res.status !== 200) throw new Error(`peer ${this.label} answered HTTP ${res.status} for its bitfield`);
    this.bitfield = new Bitfield(this.pieceCount, res.body);
  }

  has(piece: number): boolean {
    return this.bitfield?.has(piece) ?? false;
  }

  async fetchBlock(piece: number, begin: number, length: number, signal: AbortSignal): Promise<Buffer> {
    const res = await httpGet(`${this.base}/piece/${this.infoHashHex}/${piece}`, {
      headers: { Range: `bytes=${begin}-${begin + length - 1}` },
      timeoutMs: this.timeoutMs,
      maxBytes: length,
      agent: this.agent,
      signal,
    });
    if (res.status === 404) throw new Error(`peer ${this.label} does not have piece ${piece}`);
    if (res.status !== 206 && !(res.status === 200 && begin === 0)) throw new Error(`peer ${this.label} answered HTTP ${res.status}`);
    if (res.body.length !== length) throw new Error(`peer ${this.label} sent ${res.body.length} bytes for a ${length}-byte block`);
    return res.body;
  }

  close(): void {
    this.agent.destroy();
  }
}
