/**
 * Cluster aggregation, primary side: one scrape asks every worker for its report over IPC and adds
 * them up; the store's counts are asked of one worker only (a shared store's numbers are the
 * tracker's, not one per worker). A worker that does not answer in time is left out.
 */
import cluster, { type Worker } from 'node:cluster';
import { coalesced, type MetricsSource, type ProcessReport, type TrackerReport } from '../metrics/report.ts';
import type { StoreCounts } from '../store/swarm-store.ts';
import type { StatsSnapshot } from '../metrics/stats.ts';
import { sumSnapshots } from '../metrics/exposition.ts';
import { isWorkerMessage, type CollectedMessage, type ReportRequest, type WorkerMessage } from './messages.ts';

/** A worker's report is in memory already: it answers within milliseconds unless stuck. */
export const REPORT_TIMEOUT_MS = 3000;

interface Pending {
  reports: ProcessReport[];
  counts: StoreCounts | null;
  waiting: Set<number>;
  done(): void;
}

export class PrimaryMetrics implements MetricsSource {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  /** Each live worker's last reported counters, by worker id. */
  private readonly lastSnapshot = new Map<number, StatsSnapshot>();
  private retired: StatsSnapshot | undefined;

  /** Listen for the workers' reports and for their requests to collect (call once). */
  attach(): void {
    cluster.on('message', (worker: Worker, m: unknown) => {
      if (!isWorkerMessage(m)) return;
      if (m.t === 'tracker:report') this.received(worker, m);
      else if (m.t === 'tracker:collect') void this.answerCollect(worker, m.id);
    });
    // A worker gone mid-collection is not waited for.
    cluster.on('exit', (worker: Worker) => {
      const last = this.lastSnapshot.get(worker.id);
      this.lastSnapshot.delete(worker.id);
      if (last !== undefined) this.retired = sumSnapshots(this.retired === undefined ? [last] : [this.retired, last]);
      for (const p of this.pending.values()) if (p.waiting.delete(worker.id) && p.waiting.size === 0) p.done();
    });
  }

  /** One collection at a time, shared by the scrapes of every port (coalesced). */
  private readonly shared = coalesced({ collect: () => this.gather() });

  collect(): Promise<TrackerReport> {
    return this.shared.collect();
  }

  private gather(): Promise<TrackerReport> {
    const id = this.nextId++;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const p: Pending = {
        reports: [],
        counts: null,
        waiting: new Set(workers.map((w) => w.id)),
        done: () => {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve({ processes: p.reports.sort((a, b) => a.pid - b.pid), counts: p.counts, retired: this.retired });
        },
      };
      if (workers.length === 0) return p.done();
      this.pending.set(id, p);
      timer = setTimeout(() => p.done(), REPORT_TIMEOUT_MS);
      workers.forEach((w, i) => {
        const request: ReportRequest = { t: 'tracker:report?', id, counts: i === 0 };
        w.send(request, (err: Error | null) => {
          if (err && p.waiting.delete(w.id) && p.waiting.size === 0) p.done();
        });
      });
    });
  }

  private received(worker: Worker, m: Extract<WorkerMessage, { t: 'tracker:report' }>): void {
    const p = this.pending.get(m.id);
    if (p === undefined || !p.waiting.delete(worker.id)) return;
    p.reports.push(m.report);
    this.lastSnapshot.set(worker.id, m.report.snapshot);
    if (m.counts !== null) p.counts = m.counts;
    if (p.waiting.size === 0) p.done();
  }

  private async answerCollect(worker: Worker, id: number): Promise<void> {
    let report: TrackerReport | null = null;
    try {
      report = await this.collect();
    } catch (e) {
      console.error(`tracker: metrics not collected: ${(e as Error).message}`);
    }
    const answer: CollectedMessage = { t: 'tracker:collected', id, report };
    if (worker.isConnected()) worker.send(answer, () => {});
  }
}
