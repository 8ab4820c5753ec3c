/** How a peer reaches others and lets them reach it: encryption (MSE/PE) and transports (TCP, uTP). */

/**
 * off: plaintext only, both ways. allow (default): accept both; dial plaintext, retry encrypted
 * when that fails. prefer: accept both; dial encrypted (offering plaintext too). require: RC4
 * only, both ways.
 */
export type EncryptionPolicy = 'off' | 'allow' | 'prefer' | 'require';
export const ENCRYPTION_POLICIES: readonly EncryptionPolicy[] = ['off', 'allow', 'prefer', 'require'];

/** both (default): listen on TCP and uTP, dial TCP first then uTP; tcp: no uTP; utp: dial uTP only. */
export type TransportChoice = 'both' | 'tcp' | 'utp';
export const TRANSPORTS: readonly TransportChoice[] = ['both', 'tcp', 'utp'];
