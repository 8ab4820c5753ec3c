/**
 * The one Redis set-up of the test files that need a real redis-server (harness/redis.ts): one
 * server per file, started before its tests and closed after them; without redis-server, a
 * single test that skips with the apt-get line (and fails under CI=true, where it must be there).
 */
import { after, before, test } from 'node:test';
import { redisMissing, startRedis, type RedisServer } from '../../harness/redis.ts';
import { skipOrFail } from './procs.ts';

/**
 * Register the file's Redis tests: `tests(redis)` is called at once to register them; `redis()`
 * resolves to the file's running server (started by a `before` hook, once). With redis-server
 * missing, only the test `missingName` is registered (skipped, or failed under CI=true).
 * `cleanup` (the file's processes, its store clients) runs after the tests, before the server
 * is closed.
 */
export function redisSuite(missingName: string, cleanup: () => Promise<unknown>, tests: (redis: () => Promise<RedisServer>) => void): void {
  const missing = redisMissing();
  if (missing) {
    test(missingName, (t) => skipOrFail(t, missing));
    return;
  }
  // A promise, not the server: Node 20 runs top-level `before` hooks at once, side by side, so a
  // file's own hook may ask for the server while it is still starting.
  let starting: Promise<RedisServer> | undefined;
  const redis = () => (starting ??= startRedis());
  before(async () => {
    await redis();
  });
  after(async () => {
    await cleanup();
    // A failed start was reported by the hook and the tests that waited for it.
    const server = await starting?.catch(() => undefined);
    await server?.close();
  });
  tests(redis);
}
