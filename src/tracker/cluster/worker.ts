/**
 * A tracker process's life: one process alone, or one worker of `--workers` (primary.ts forks
 * it). A worker tells the primary when it listens or why it could not start, and answers the
 * primary's requests for its numbers (worker-metrics.ts).
 */
import { runTracker, type RunningTracker } from '../run.ts';
import type { TrackerOptions } from '../options.ts';
import { answerReportRequests, tell } from './worker-metrics.ts';

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
  answerReportRequests(running.service);
  handleSignals(running);
  process.off('SIGHUP', ignoreHup);
  tell({ t: 'tracker:ready' });
}
