/** Which numbers a scrape of this process shows: its own, or, in a `--workers` worker, the whole tracker's. */
import cluster from 'node:cluster';
import type { TrackerService } from '../service.ts';
import { coalesced, type MetricsSource } from './report.ts';
import { localMetricsSource } from './local-source.ts';
import { workerMetricsSource } from '../cluster/worker-metrics.ts';

/**
 * Decided by the process, not passed down: every node:cluster worker of this program is a tracker
 * worker (cluster/primary.ts forks them), whose primary adds up all workers' numbers.
 */
export function metricsSourceFor(service: TrackerService): MetricsSource {
  return coalesced(cluster.isWorker ? workerMetricsSource() : localMetricsSource(service));
}
