/** `--store`: the swarm store a tracker process keeps its swarms in. */
import { MemorySwarmStore } from './memory-store.ts';
import { RedisSwarmStore } from './redis-store.ts';
import type { StoreLimits, SwarmStore } from './swarm-store.ts';
import type { TrackerStats } from '../metrics/stats.ts';

/**
 * The store named by `spec` (`memory` or a `redis://` URL), ready to serve. Rejects with a
 * one-line reason when it cannot be opened (Redis unreachable at start).
 */
export async function openStore(spec: string, ttlMs: number, limits: StoreLimits, stats: TrackerStats): Promise<SwarmStore> {
  if (spec === 'memory') return new MemorySwarmStore(ttlMs, limits);
  if (/^rediss?:\/\//i.test(spec)) return RedisSwarmStore.open({ url: spec, ttlMs, limits, stats });
  throw new Error(`unsupported store ${spec}`);
}
