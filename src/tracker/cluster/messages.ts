/**
 * The IPC between a `--workers` primary and its workers. Both ends are our own processes, so a
 * message is checked for its shape (another library's messages share the channel), not distrusted.
 */
import type { ProcessReport, TrackerReport } from '../metrics/report.ts';
import type { StoreCounts } from '../store/swarm-store.ts';

/** Worker -> primary: listening on every port, or could not start (the one-line reason). */
export interface ReadyMessage {
  t: 'tracker:ready';
}
export interface FailedMessage {
  t: 'tracker:failed';
  message: string;
}
/** Worker -> primary: a scrape of the public port wants the whole tracker's numbers. */
export interface CollectMessage {
  t: 'tracker:collect';
  id: number;
}
/** Primary -> worker: its report (and the store's counts, asked of one worker only). */
export interface ReportRequest {
  t: 'tracker:report?';
  id: number;
  counts: boolean;
}
/** Worker -> primary. */
export interface ReportMessage {
  t: 'tracker:report';
  id: number;
  report: ProcessReport;
  counts: StoreCounts | null;
}
/** Primary -> worker: the answer to its CollectMessage (null: could not collect). */
export interface CollectedMessage {
  t: 'tracker:collected';
  id: number;
  report: TrackerReport | null;
}

export type WorkerMessage = ReadyMessage | FailedMessage | CollectMessage | ReportMessage;
export type PrimaryMessage = ReportRequest | CollectedMessage;

const WORKER_KINDS = new Set(['tracker:ready', 'tracker:failed', 'tracker:collect', 'tracker:report']);
const PRIMARY_KINDS = new Set(['tracker:report?', 'tracker:collected']);

function kind(m: unknown): unknown {
  return typeof m === 'object' && m !== null ? (m as { t?: unknown }).t : undefined;
}

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return WORKER_KINDS.has(kind(m) as string);
}

export function isPrimaryMessage(m: unknown): m is PrimaryMessage {
  return PRIMARY_KINDS.has(kind(m) as string);
}
