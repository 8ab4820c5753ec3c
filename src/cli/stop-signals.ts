/**
 * The one owner of SIGINT and SIGTERM in a program: installed before its first await and never
 * removed. Node restores the default action (death by the signal: no exit status, no closing
 * line) as soon as a signal has no listener left, so handlers added and removed phase by phase
 * left windows where a stop killed the process: start-up, the switch from downloading to seeding,
 * the stop itself, and the instant between a ready line and the handler installed after it.
 *
 * A phase that knows how to stop cleanly holds the stop (holdStop()) and is told of the first
 * signal, even one that came before it held. A signal while nothing holds ends the program at
 * once with its idle stop (interrupted: status 130). While held, further signals are ignored:
 * every stop is bounded (the tracker's `stopped` has a deadline).
 */

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** What the program does with a signal when no phase holds the stop; must end the process. */
export type IdleStop = (signal: StopSignal) => void;

export interface StopHold {
  /** Resolves with the first stop signal of the process (at once if one came already). */
  readonly requested: Promise<StopSignal>;
  /** This phase is over: a signal from now on goes to the other holders, or to the idle stop. */
  release(): void;
}

const SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM'];

let idleStop: IdleStop | undefined;
let firstSignal: StopSignal | undefined;
const holders = new Set<(signal: StopSignal) => void>();

/**
 * Own SIGINT and SIGTERM from now on (idempotent; a later call replaces the idle stop). Call it
 * first thing: the time before it, module loading included, is the only window left.
 */
export function installStopSignals(idle: IdleStop): void {
  const installed = idleStop !== undefined;
  idleStop = idle;
  if (installed) return;
  for (const signal of SIGNALS) process.on(signal, () => onSignal(signal));
}

function onSignal(signal: StopSignal): void {
  if (holders.size === 0) {
    // Nobody to stop cleanly (start-up, a prompt, a magnet's metadata, or a repeat after the stop).
    idleStop?.(signal);
    return;
  }
  if (firstSignal !== undefined) return; // a stop is under way, and bounded
  firstSignal = signal;
  for (const tell of holders) tell(signal);
}

/**
 * Hold the stop for a phase that stops cleanly on its own (a download, seeding). Installs the
 * handlers with an idle stop of status 130 when the program did not install them itself.
 */
export function holdStop(): StopHold {
  if (idleStop === undefined) installStopSignals(() => process.exit(130)); // EXIT.interrupted (cli/common.ts)
  let tell!: (signal: StopSignal) => void;
  const requested = new Promise<StopSignal>((resolve) => (tell = resolve));
  holders.add(tell);
  if (firstSignal !== undefined) tell(firstSignal);
  return { requested, release: () => void holders.delete(tell) };
}
