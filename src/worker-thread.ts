/**
 * Start a worker thread from a module beside the caller. Compiled, that is `name.js` in dist/.
 * Under tsx (tests, tools) it is the `.ts` source, so the worker first registers tsx's loader in
 * its own thread.
 */
import { Worker } from 'node:worker_threads';

export function startWorker(callerUrl: string, name: string, workerData: unknown): Worker {
  return callerUrl.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(new URL(`./${name}.ts`, callerUrl).href)}); });`,
        { eval: true, workerData },
      )
    : new Worker(new URL(`./${name}.js`, callerUrl), { workerData });
}
