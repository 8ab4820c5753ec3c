/**
 * How late this process's timers run right now, measured by a control timer started beside a
 * timed wait. An upper bound on a wait adds this lateness: a loaded machine (two test files and
 * their programs on 2 cores) loosens the bound instead of failing the test; a quiet one keeps it tight.
 */
export function timerLateness(ms: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => setTimeout(() => resolve(Math.max(0, performance.now() - t0 - ms)), ms));
}
