/**
 * A tracker process's life: one process alone, or one worker of `--workers` (cluster.ts starts
 * it). A worker tells the primary when it listens or why it could not start, answers the
 * primary's requests for its numbers, and asks the primary for the whole tracker's numbers when
 * its public port is scraped.
 */
import cluster from 'node:cluster';
import { runTracker, type RunningTracker } from '../run.ts';
import type { TrackerOptions } from '../options.ts';
import type { MetricsSource, TrackerReport } from '../metrics/report.ts';
import { processReport, storeCounts } from '../metrics/local-source.ts';
import { isPrimaryMessage, type CollectMessage, type FailedMessage, type ReadyMessage, type ReportMessage } from './messages.ts';

/** Longer than the primary's own wait for every worker (REPORT_TIMEOUT_MS). */
const COLLECT_TIMEOUT_MS = 5000;

/** SIGTERM/SIGINT stop cleanly (once: a terminal's Ctrl-C reaches a worker twice, from the terminal and from the primary); SIGHUP re-reads the lists. */
export function handleSignals(running: RunningTracker): void {
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void running.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', () => {
    running.lists.load().then(
      (n) => console.log(`* Torrent lists re-read: ${n.whitelisted ?? 'no'} whitelisted, ${n.blacklisted ?? 'no'} blacklisted`),
      (e: Error) => console.error(`Error: torrent lists not re-read, the old ones stay: ${e.message}`),
    );
  });
}

/** Send to the primary, then run `then` (exit after the message is out, not before). */
function tell(message: ReadyMessage | FailedMessage | ReportMessage | CollectMessage, then?: () => void): void {
  process.send!(message, undefined, {}, () => then?.());
}

/** Run as a worker: start, report ready or failed (and exit 1), then serve until a signal. */
export async function runWorker(options: TrackerOptions): Promise<void> {
  // A SIGHUP sent to the process group while starting must not kill it (the lists are read at start).
  const ignoreHup = () => {};
  process.on('SIGHUP', ignoreHup);
  let running: RunningTracker;
  try {
    running = await runTracker(options);
  } catch (e) {
    tell({ t: 'tracker:failed', message: (e as Error).message }, () => process.exit(1));
    return;
  }
  const service = running.service;
  process.on('message', (m: unknown) => {
    if (!isPrimaryMessage(m) || m.t !== 'tracker:report?') return;
    void Promise.all([processReport(service), m.counts ? storeCounts(service) : null]).then(([report, counts]) => {
      if (process.connected) tell({ t: 'tracker:report', id: m.id, report, counts });
    });
  });
  handleSignals(running);
  process.off('SIGHUP', ignoreHup);
  tell({ t: 'tracker:ready' });
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

export const isClusterWorker = (): boolean => cluster.isWorker;
