/** The numbers of this one process: its counters, its process metrics, and its store's counts. */
import promClient from 'prom-client';
import type { TrackerService } from '../service.ts';
import type { StoreCounts } from '../store/swarm-store.ts';
import type { MetricsSource, ProcessReport } from './report.ts';

/** How long a scrape waits for the store's counts before answering without them. */
export const COUNTS_TIMEOUT_MS = 2000;

let processRegistry: promClient.Registry | undefined;

/**
 * The default process metrics (CPU, memory, event loop lag, GC), one registry per process,
 * created at the first scrape: a tracker nobody scrapes runs none of its samplers (an event loop
 * delay monitor, a GC observer), and they never touch a request.
 */
function processMetrics(): promClient.Registry {
  if (processRegistry === undefined) {
    processRegistry = new promClient.Registry();
    promClient.collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** This process's report: a copy of its counters, taken at once. */
export async function processReport(service: TrackerService): Promise<ProcessReport> {
  const snapshot = service.stats.snapshot();
  return { pid: process.pid, snapshot, process: await processMetrics().getMetricsAsJSON() };
}

/** The store's counts, or null when it does not answer in time (a shared store down). */
export async function storeCounts(service: TrackerService, timeoutMs = COUNTS_TIMEOUT_MS): Promise<StoreCounts | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    return await Promise.race([service.store.counts(), late]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

export function localMetricsSource(service: TrackerService): MetricsSource {
  return {
    collect: async () => {
      const [report, counts] = await Promise.all([processReport(service), storeCounts(service)]);
      return { processes: [report], counts };
    },
  };
}
