/** MSE/PE (message stream encryption) for the BitTorrent wire protocol: the public surface. */
export { classifyOpening, type Opening } from './classify.ts';
export { EncryptedStream } from './encrypted-stream.ts';
export { acceptMse, initiateMse, MSE_HANDSHAKE_TIMEOUT_MS, type AcceptedMse, type AcceptMseOptions, type InitiatedMse, type InitiateMseOptions } from './handshake-driver.ts';
export { ENCRYPTION_POLICIES, type EncryptionPolicy, MseError, type SelectedCrypto } from './policy.ts';
