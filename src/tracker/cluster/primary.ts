/**
 * `--workers N`: the primary of a node:cluster. It forks N tracker processes that share the HTTP
 * and UDP ports (Node 20 has no reusePort), prints the "Running" line once every one listens,
 * restarts one that dies (with a backoff), forwards signals, serves `--metrics-port` with the
 * whole tracker's numbers, and gives every worker the same UDP connection-id key.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { TrackerOptions } from '../options.ts';
import { isWorkerMessage } from './messages.ts';
import { PrimaryMetrics } from './primary-metrics.ts';
import { startMetricsServer, type MetricsServer } from '../metrics/http.ts';

/** A worker that does not listen within this long fails the start. */
export const START_TIMEOUT_MS = 60_000;
/** Restart delays: doubling from the first to the last while workers keep dying young. */
export const RESTART_BACKOFF_MS = { first: 250, max: 10_000 };
/** A worker that lived this long resets the backoff. */
const HEALTHY_AFTER_MS = 10_000;
/** On SIGTERM/SIGINT, workers get this long to stop before SIGKILL. */
const STOP_GRACE_MS = 10_000;

export interface PrimaryEvents {
  /** Every worker listens: print the Running line. */
  ready(): void;
  /** The start failed (one line). */
  failed(message: string): void;
}

export class TrackerPrimary {
  private readonly metrics = new PrimaryMetrics();
  private metricsServer: MetricsServer | null = null;
  private started = false;
  private stopping = false;
  /** Workers that listen (SIGHUP goes to these: one still starting reads the lists anyway). */
  private readonly listening = new Set<number>();
  private restartDelay = RESTART_BACKOFF_MS.first;
  private readonly bornAt = new Map<number, number>();
  /** What every worker gets in its environment (the shared secret). */
  private env: NodeJS.ProcessEnv = {};

  constructor(
    private readonly o: TrackerOptions,
    private readonly events: PrimaryEvents,
  ) {}

  /** Fork the workers; calls `ready` or `failed` once. */
  start(): void {
    // Every worker must mint and accept the same UDP connection ids.
    const secret = this.o.secret ?? randomBytes(32).toString('hex');
    // Workers accept from the shared listening socket themselves (SCHED_NONE), rather than the
    // primary accepting and passing each connection on (SCHED_RR, Node's default on Linux): no
    // per-connection work in the primary (one connection per announce is common), and a worker
    // that dies loses no connection the primary had already handed it. UDP sockets are shared
    // either way. NODE_CLUSTER_SCHED_POLICY=rr still chooses round robin.
    if (process.env['NODE_CLUSTER_SCHED_POLICY'] === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ silent: false });
    this.metrics.attach();
    cluster.on('message', (w: Worker, m: unknown) => {
      if (!isWorkerMessage(m)) return;
      if (m.t === 'tracker:ready') this.workerReady(w);
      else if (m.t === 'tracker:failed') this.workerFailed(w, m.message);
    });
    cluster.on('exit', (w: Worker, code: number | null, signal: string | null) => this.workerExited(w, code, signal));
    const deadline = setTimeout(() => this.fail(`the workers did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    deadline.unref();
    this.env = { TRACKER_SECRET: secret };
    for (let i = 0; i < this.o.workers; i++) this.fork();
  }

  private fork(): void {
    const w = cluster.fork(this.env);
    this.bornAt.set(w.id, Date.now());
  }

  private workerReady(w: Worker): void {
    this.listening.add(w.id);
    if (this.started || this.listening.size < this.o.workers) return;
    void this.startMetrics().then(
      () => {
        this.started = true;
        this.events.ready();
      },
      (e: Error) => this.fail(e.message),
    );
  }

  private async startMetrics(): Promise<void> {
    if (this.o.metrics === null) return;
    this.metricsServer = await startMetricsServer(this.metrics, this.o.metrics.host, this.o.metrics.port);
  }

  private workerFailed(w: Worker, message: string): void {
    if (!this.started) return this.fail(message);
    console.error(`tracker: worker ${w.process.pid} could not start: ${message}`);
  }

  private workerExited(w: Worker, code: number | null, signal: string | null): void {
    const born = this.bornAt.get(w.id) ?? Date.now();
    this.bornAt.delete(w.id);
    this.listening.delete(w.id);
    if (this.stopping) return;
    const how = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
    if (!this.started) return this.fail(`a worker ${how} while starting`);
    this.restartDelay = Date.now() - born >= HEALTHY_AFTER_MS ? RESTART_BACKOFF_MS.first : this.restartDelay;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(RESTART_BACKOFF_MS.max, this.restartDelay * 2);
    console.error(`tracker: worker ${w.process.pid} ${how}; restarting it in ${delay} ms`);
    setTimeout(() => {
      if (!this.stopping) this.fork();
    }, delay);
  }

  /** A start that failed: stop the others, report once. */
  private fail(message: string): void {
    if (this.started || this.stopping) return;
    this.stopping = true;
    for (const w of this.workers()) w.process.kill('SIGKILL');
    this.events.failed(message);
  }

  private workers(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  }

  /** SIGHUP: every worker re-reads the torrent lists. */
  reloadLists(): void {
    for (const w of this.workers()) if (this.listening.has(w.id)) w.process.kill('SIGHUP');
  }

  /** Forward the signal, wait for the workers (SIGKILL after a grace period), close the metrics port. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    this.stopping = true;
    const exits = this.workers().map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of this.workers()) w.process.kill(signal);
    const grace = setTimeout(() => {
      for (const w of this.workers()) w.process.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(grace);
    await this.metricsServer?.stop();
  }
}
