/**
 * The Redis store's connection (ioredis): open it or say in one line why not, run a script with
 * EVALSHA (one round trip), and fail at once while Redis is away instead of queueing.
 */
import { Redis } from 'ioredis';
import type { TrackerStats } from '../metrics/stats.ts';
import { StoreUnavailableError } from './swarm-store.ts';

/** A reply to a script: integers, raw bulk strings, nested arrays. */
export type ScriptReply = Array<number | Buffer | null | ScriptReply>;
export type ScriptArg = Buffer | string | number;

/**
 * A command with no answer after this long fails (a Redis that hangs, or a network that drops
 * packets; a Redis that is gone closes the connection and fails at once). Not shorter: an event
 * loop stalled this long on an overloaded machine fires the timer before it reads the answer.
 */
const COMMAND_TIMEOUT_MS = 1500;
const CONNECT_TIMEOUT_MS = 2000;
/**
 * Commands sent and not yet answered, at most: beyond, requests are refused at once, so a Redis
 * that stops answering (but keeps its connection open) cannot make us hold an unbounded backlog.
 */
const MAX_IN_FLIGHT = 10_000;
/** Reconnect after 100 ms, 200 ms, ... up to 2 s between tries, for ever. */
const reconnectDelay = (attempt: number) => Math.min(100 * attempt, 2000);

/** Server answers that mean "not now", not "your script is wrong". */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|CLUSTERDOWN|TRYAGAIN)\b/;

export class RedisScripts {
  private readonly shas = new Map<string, string>();
  private inFlight = 0;
  private down = false;

  private constructor(
    private readonly client: Redis,
    private readonly where: string,
    private readonly stats: TrackerStats | undefined,
  ) {
    client.on('error', (e: Error) => {
      // Logged once per outage: ioredis reports every failed reconnect.
      if (!this.down) console.error(`tracker: lost Redis at ${where} (${e.message}); answering "store unavailable" and reconnecting`);
      this.down = true;
    });
    client.on('ready', () => {
      if (this.down) console.error(`tracker: Redis at ${where} is back`);
      this.down = false;
    });
  }

  /** Connect to `url` (redis://HOST:PORT[/DB]), or reject with "cannot reach Redis at HOST:PORT: why". */
  static async connect(url: string, stats?: TrackerStats): Promise<RedisScripts> {
    const client = new Redis(url, {
      lazyConnect: true,
      // Fail at once while disconnected: a queue would grow with every announce of an outage.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: reconnectDelay,
    });
    const where = `${client.options.host ?? '127.0.0.1'}:${client.options.port ?? 6379}`;
    let firstError: Error | undefined;
    const early = (e: Error) => (firstError ??= e);
    client.on('error', early);
    try {
      await client.connect();
      // A failed SELECT (a DB out of range) is only an 'error' event: ioredis goes on in DB 0.
      if (firstError) throw firstError;
      const info = await client.info('server');
      const version = /redis_version:(\d+)\.(\d+)/.exec(info);
      // ZRANDMEMBER (the peer sample) came with Redis 6.2.
      if (version && Number(version[1]) * 100 + Number(version[2]) < 602) throw new Error(`Redis ${version[1]}.${version[2]} is too old (6.2 or later needed)`);
    } catch (e) {
      client.disconnect();
      throw new Error(`cannot reach Redis at ${where}: ${(firstError ?? (e as Error)).message}`);
    } finally {
      client.off('error', early);
    }
    return new RedisScripts(client, where, stats);
  }

  /** Load the scripts now (a syntax error shows at start, not at the first announce). */
  async load(scripts: Record<string, string>): Promise<void> {
    for (const [name, source] of Object.entries(scripts)) {
      this.sources.set(name, source);
      await this.reload(name);
    }
  }

  private readonly sources = new Map<string, string>();
  /** Loads under way: after a Redis restart every request in flight meets NOSCRIPT, one load serves them all. */
  private readonly loading = new Map<string, Promise<void>>();

  private reload(name: string): Promise<void> {
    let p = this.loading.get(name);
    if (!p) {
      p = this.client.script('LOAD', this.sources.get(name)!).then((sha) => void this.shas.set(name, String(sha)));
      p.finally(() => this.loading.delete(name)).catch(() => {});
      this.loading.set(name, p);
    }
    return p;
  }

  /**
   * Run script `name`: one EVALSHA. A Redis restarted meanwhile has forgotten it (NOSCRIPT): it
   * is loaded again and run once more. Rejects with StoreUnavailableError when Redis is away.
   */
  async run(name: string, keys: ScriptArg[], args: ScriptArg[]): Promise<ScriptReply> {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.stats?.storeError();
      throw new StoreUnavailableError('tracker store is overloaded, try again later');
    }
    this.inFlight++;
    const start = performance.now();
    try {
      let reply: unknown;
      try {
        reply = await this.client.callBuffer('EVALSHA', this.shas.get(name)!, keys.length, ...keys, ...args);
      } catch (e) {
        if (!/^NOSCRIPT/.test((e as Error).message)) throw e;
        await this.reload(name);
        reply = await this.client.callBuffer('EVALSHA', this.shas.get(name)!, keys.length, ...keys, ...args);
      }
      this.stats?.storeRoundTrip((performance.now() - start) / 1000);
      return reply as ScriptReply;
    } catch (e) {
      this.stats?.storeError();
      const err = e as Error;
      // A script's own error is a bug, not an outage: it goes up as it is.
      if (err.name === 'ReplyError' && !UNAVAILABLE_REPLY.test(err.message)) throw err;
      throw new StoreUnavailableError('tracker store unavailable, try again later');
    } finally {
      this.inFlight--;
    }
  }

  /** Whether the connection is up (for a quick health answer; requests fail at once when not). */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  async close(): Promise<void> {
    try {
      if (this.client.status === 'ready') await this.client.quit();
    } catch {
      // Closing anyway.
    }
    this.client.disconnect();
  }
}
