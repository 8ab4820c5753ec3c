/** The memory store passes the SwarmStore conformance suite. */
import { MemorySwarmStore } from '../../src/tracker/store/memory-store.ts';
import { storeConformance } from './store.conformance.ts';

storeConformance('MemorySwarmStore', (ttlMs, limits) => new MemorySwarmStore(ttlMs, limits));
