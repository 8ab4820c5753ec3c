/** How a peer reaches others and lets them reach it: encryption (MSE/PE, see mse/policy.ts) and transports. */
export { ENCRYPTION_POLICIES, type EncryptionPolicy } from './mse/policy.ts';

/** both (default): listen on TCP and uTP, dial TCP first then uTP; tcp: no uTP; utp: dial uTP only. */
export type TransportChoice = 'both' | 'tcp' | 'utp';
export const TRANSPORTS: readonly TransportChoice[] = ['both', 'tcp', 'utp'];
