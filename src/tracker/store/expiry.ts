/** The store's expiry pass on a timer, for any SwarmStore. */
import { EXPIRY_SLICE_MS, type SwarmStore } from './swarm-store.ts';

/**
 * Every `periodMs`, a pass over the store that drops silent peers and empty swarms, in slices of
 * bounded work with the event loop free between them (setImmediate: after pending I/O), so no
 * announce waits behind a whole pass (600,000 swarms expiring at once took 337 ms in one piece).
 */
export function startExpiry(store: SwarmStore, periodMs: number): { stop(): void } {
  let running = false;
  let stopped = false;
  const failed = (err: unknown) => {
    running = false;
    console.error('tracker expiry error:', err);
  };
  const sliceDone = (done: boolean) => {
    if (done) running = false;
    else setImmediate(slice);
  };
  const slice = (): void => {
    if (stopped) return;
    let done: boolean | Promise<boolean>;
    try {
      done = store.expireSome(Date.now(), EXPIRY_SLICE_MS);
    } catch (err) {
      failed(err);
      return;
    }
    if (done instanceof Promise) done.then(sliceDone, failed);
    else sliceDone(done);
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    slice();
  }, periodMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
