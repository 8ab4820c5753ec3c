/** MSE/PE (message stream encryption) for the BitTorrent wire protocol: the public surface. */
export { classifyOpening, type Opening } from './classify.ts';
export { OPENING_TIMEOUT_MS, readOpening } from './read-opening.ts';
export { EncryptedStream } from './encrypted-stream.ts';
export { acceptMse, initiateMse, MSE_HANDSHAKE_TIMEOUT_MS, type AcceptedMse, type AcceptMseOptions, type InitiatedMse, type InitiateMseOptions } from './handshake-driver.ts';
export { acceptsPlainHandshake, dialsEncrypted, ENCRYPTION_POLICIES, type EncryptionPolicy, isEncryptionPolicy, MseError, retryDial, type SelectedCrypto } from './policy.ts';
