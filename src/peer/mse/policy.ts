/** What MSE may negotiate, and the error every MSE failure is reported with. */

/** A failed or refused MSE handshake; it ends that one connection only. */
export class MseError extends Error {
  override name = 'MseError';
}

/**
 * off: never initiate MSE, refuse incoming MSE.
 * allow (default): accept plain and MSE; dial plain (a failed plain dial may be retried with MSE).
 * prefer: accept both; dial MSE offering RC4 and plaintext.
 * require: MSE with RC4 only, both directions.
 */
export type EncryptionPolicy = 'off' | 'allow' | 'prefer' | 'require';

export const ENCRYPTION_POLICIES: readonly EncryptionPolicy[] = ['off', 'allow', 'prefer', 'require'];

/** crypto_provide / crypto_select bits. */
export const CRYPTO_PLAINTEXT = 0x01;
export const CRYPTO_RC4 = 0x02;

export type SelectedCrypto = 'rc4' | 'plaintext';

/** The crypto_provide an initiator sends; MseError under `off`. */
export function cryptoProvide(policy: EncryptionPolicy): number {
  if (policy === 'off') throw new MseError('encryption is off');
  return policy === 'require' ? CRYPTO_RC4 : CRYPTO_RC4 | CRYPTO_PLAINTEXT;
}

/**
 * The responder's choice. Under `allow` (the default) plaintext when offered, as libtorrent does
 * by default (`prefer_rc4` off): the obfuscated handshake without RC4's cost on every byte
 * (aria2c opens with MSE offering both). Under `prefer` and `require`, RC4 when offered.
 */
export function cryptoSelect(policy: EncryptionPolicy, provide: number): number {
  if (policy === 'off') throw new MseError('encryption is off');
  if (policy === 'allow' && provide & CRYPTO_PLAINTEXT) return CRYPTO_PLAINTEXT;
  if (provide & CRYPTO_RC4) return CRYPTO_RC4;
  if (provide & CRYPTO_PLAINTEXT) {
    if (policy === 'require') throw new MseError('peer offers only plaintext; RC4 is required');
    return CRYPTO_PLAINTEXT;
  }
  throw new MseError(`peer offers no method we know (crypto_provide 0x${provide.toString(16)})`);
}

/** The initiator's check of the answer: exactly one method, and one that was offered. */
export function checkSelected(provided: number, select: number): SelectedCrypto {
  if (select === CRYPTO_RC4 && provided & CRYPTO_RC4) return 'rc4';
  if (select === CRYPTO_PLAINTEXT && provided & CRYPTO_PLAINTEXT) return 'plaintext';
  throw new MseError(`peer selected 0x${select.toString(16)}, offered 0x${provided.toString(16)}`);
}
