/**
 * The metadata phase of a magnet link: find peers for the info hash (PeerSource list), ask up to
 * a few of them at once for the info dict (metadata-peer.ts), and take the first copy whose SHA-1
 * is the info hash. A peer that lies (wrong hash, another size, junk) is dropped for the phase;
 * one that just could not (refused, no metadata yet, unreachable) may be asked again later.
 */
import { hostPort } from '../bittorrent/address.ts';
import type { MagnetPeer } from '../magnet/magnet-uri.ts';
import type { EncryptionPolicy } from '../peer/transport-options.ts';
import { fetchMetadataFrom, MetadataPeerError } from './metadata-peer.ts';
import type { PeerSource } from './metadata-sources.ts';
import { SessionError } from './session-error.ts';

/** Peers asked at once: each may hold a copy of up to 16 MiB while it is checked. */
const PARALLEL = 4;
/** A peer that failed without lying is asked again after this long. */
const RETRY_MS = 5_000;
/** Most distinct peers kept (a source could list thousands). */
const MAX_PEERS = 500;

export interface MetadataFetchOptions {
  infoHash: Buffer;
  peerId: Buffer;
  /** Where we serve: never asked, and told to peers. */
  host: string;
  port: number;
  encryption: EncryptionPolicy;
  sources: PeerSource[];
  /** Give up when no peer gave the metadata for this long. */
  waitSeconds: number;
  log(line: string): void;
}

export interface FetchedMetadata {
  /** The info dict's exact bytes (SHA-1 = the info hash). */
  rawInfo: Buffer;
  /** Who gave it. */
  from: MagnetPeer;
  /** Every peer found, liars left out: the download's first peers. */
  peers: MagnetPeer[];
}

export async function fetchMetadata(o: MetadataFetchOptions): Promise<FetchedMetadata> {
  const phase = new MetadataPhase(o);
  try {
    return await phase.run();
  } finally {
    await phase.stop();
  }
}

class MetadataPhase {
  private readonly peers = new Map<string, MagnetPeer>();
  private readonly liars = new Set<string>();
  private readonly retryAt = new Map<string, number>();
  private readonly asking = new Set<string>();
  private readonly abort = new AbortController();
  private lastError: string | undefined;
  private done!: (r: FetchedMetadata | Error) => void;

  constructor(private readonly o: MetadataFetchOptions) {}

  run(): Promise<FetchedMetadata> {
    const result = new Promise<FetchedMetadata | Error>((resolve) => (this.done = resolve));
    for (const s of this.o.sources) s.start((found) => this.add(found));
    const refresher = this.refreshWhileStarved();
    const giveUp = setTimeout(() => this.done(this.failure()), this.o.waitSeconds * 1000);
    return result.then((r) => {
      clearInterval(refresher);
      clearTimeout(giveUp);
      if (r instanceof Error) throw r;
      return r;
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.o.sources.map((s) => s.stop()));
  }

  private failure(): SessionError {
    const { waitSeconds } = this.o;
    if (this.peers.size === 0) return new SessionError(`no peers found for the magnet link within ${waitSeconds} s`);
    return new SessionError(`no peer gave the metadata within ${waitSeconds} s${this.lastError ? ` (last: ${this.lastError})` : ''}`);
  }

  private add(found: MagnetPeer[]): void {
    for (const p of found) {
      const key = hostPort(p.ip, p.port);
      if ((p.ip === this.o.host && p.port === this.o.port) || this.peers.has(key) || this.peers.size >= MAX_PEERS) continue;
      this.peers.set(key, p);
    }
    this.askMore();
  }

  /** Start attempts on peers not asked, not liars, not failed within RETRY_MS, up to PARALLEL. */
  private askMore(): void {
    const now = Date.now();
    for (const [key, p] of this.peers) {
      if (this.asking.size >= PARALLEL || this.abort.signal.aborted) return;
      if (this.asking.has(key) || this.liars.has(key) || (this.retryAt.get(key) ?? 0) > now) continue;
      this.ask(key, p);
    }
  }

  private ask(key: string, p: MagnetPeer): void {
    const { infoHash, peerId, port, encryption } = this.o;
    this.asking.add(key);
    fetchMetadataFrom(p, { infoHash, peerId, listenPort: port, encryption, signal: this.abort.signal })
      .then(
        (rawInfo) => {
          this.abort.abort(); // the other attempts are no longer needed
          this.done({ rawInfo, from: p, peers: [...this.peers].filter(([k]) => !this.liars.has(k)).map(([, v]) => v) });
        },
        (e: Error) => {
          if (this.abort.signal.aborted) return;
          this.lastError = `${key}: ${e.message}`;
          if (e instanceof MetadataPeerError && e.lied) {
            this.liars.add(key);
            this.o.log(`Dropped peer ${key}: ${e.message}`);
          } else {
            this.retryAt.set(key, Date.now() + RETRY_MS);
          }
        },
      )
      .finally(() => {
        this.asking.delete(key);
        this.askMore();
      });
  }

  /** While nobody is being asked, ask the sources again (1 s doubling to 15 s) and retry failed peers. */
  private refreshWhileStarved(): NodeJS.Timeout {
    let backoff = 1;
    let nextAsk = Date.now() + 1000;
    return setInterval(() => {
      this.askMore();
      if (this.asking.size > 0 || Date.now() < nextAsk) return;
      for (const s of this.o.sources) s.refresh?.();
      backoff = Math.min(backoff * 2, 15);
      nextAsk = Date.now() + backoff * 1000;
    }, 250);
  }
}
