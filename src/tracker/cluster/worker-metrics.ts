/**
 * Cluster aggregation, worker side: answer the primary's requests for this worker's numbers, and,
 * when this worker's public port is scraped, ask the primary for the whole tracker's.
 */
import type { TrackerService } from '../service.ts';
import type { MetricsSource, TrackerReport } from '../metrics/report.ts';
import { processReport, storeCounts } from '../metrics/local-source.ts';
import { isPrimaryMessage, type WorkerMessage } from './messages.ts';

/** Longer than the primary's own wait for every worker (REPORT_TIMEOUT_MS). */
const COLLECT_TIMEOUT_MS = 5000;

/** Send to the primary, then run `then` (exit after the message is out, not before). */
export function tell(message: WorkerMessage, then?: () => void): void {
  process.send!(message, undefined, {}, () => then?.());
}

/** Report this worker's counters (and the store's counts when asked) whenever the primary asks. */
export function answerReportRequests(service: TrackerService): void {
  process.on('message', (m: unknown) => {
    if (!isPrimaryMessage(m) || m.t !== 'tracker:report?') return;
    void Promise.all([processReport(service), m.counts ? storeCounts(service) : null]).then(([report, counts]) => {
      if (process.connected) tell({ t: 'tracker:report', id: m.id, report, counts });
    });
  });
}

let collectSource: MetricsSource | undefined;

/** In a worker: the whole tracker's numbers, collected by the primary. */
export function workerMetricsSource(): MetricsSource {
  if (collectSource !== undefined) return collectSource;
  let nextId = 0;
  const waiting = new Map<number, (r: TrackerReport | null) => void>();
  process.on('message', (m: unknown) => {
    if (isPrimaryMessage(m) && m.t === 'tracker:collected') waiting.get(m.id)?.(m.report);
  });
  collectSource = {
    collect: () =>
      new Promise<TrackerReport>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => settle(null), COLLECT_TIMEOUT_MS);
        const settle = (report: TrackerReport | null) => {
          clearTimeout(timer);
          waiting.delete(id);
          if (report === null) reject(new Error('the primary did not collect the workers\' numbers in time'));
          else resolve(report);
        };
        waiting.set(id, settle);
        if (!process.connected) return settle(null);
        tell({ t: 'tracker:collect', id });
      }),
  };
  return collectSource;
}

