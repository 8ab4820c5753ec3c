/**
 * A hand-built MSE initiator for tests: every field can be set wrong on purpose (crypto_provide,
 * VC, PadC, IA length, the sync hash, SKEY), so the responder can be shown refusing each.
 */
import { randomBytes } from 'node:crypto';
import { createKeyPair, DH_KEY_LENGTH, req1Hash, req2Hash, req3Hash, streamKeys, xor20 } from '../../../src/peer/mse/dh.ts';
import { mseRc4, type Rc4 } from '../../../src/peer/mse/rc4.ts';

export interface RawFields {
  infoHash: Buffer;
  provide?: number;
  vc?: Buffer;
  padALength?: number;
  /** The len(PadC) written; the PadC bytes actually sent are min(this, 512+) unless padCBytes. */
  padCLength?: number;
  padCBytes?: number;
  ia?: Buffer;
  iaLength?: number;
  /** Garbage before the sync hash (over 512 bytes breaks the window). */
  beforeReq1?: number;
  wrongReq1?: boolean;
}

export interface RawInitiator {
  opening: Buffer;
  /** Given B's bytes (Yb first), the third message and the keystreams. */
  third(fromB: Buffer): { bytes: Buffer; encrypt: Rc4; decrypt: Rc4 };
}

export function rawInitiator(f: RawFields): RawInitiator {
  const keys = createKeyPair();
  return {
    opening: Buffer.concat([keys.publicKey, randomBytes(f.padALength ?? 0)]),
    third(fromB) {
      const s = keys.secretWith(fromB.subarray(0, DH_KEY_LENGTH));
      const { keyA, keyB } = streamKeys(s, f.infoHash);
      const encrypt = mseRc4(keyA);
      const decrypt = mseRc4(keyB);
      const ia = f.ia ?? Buffer.alloc(0);
      const padC = f.padCBytes ?? f.padCLength ?? 0;
      const fields = Buffer.alloc(8 + 4 + 2 + padC + 2);
      (f.vc ?? Buffer.alloc(8)).copy(fields, 0);
      fields.writeUInt32BE(f.provide ?? 0x03, 8);
      fields.writeUInt16BE(f.padCLength ?? 0, 12);
      fields.writeUInt16BE(f.iaLength ?? ia.length, 14 + padC);
      const sync = f.wrongReq1 ? randomBytes(20) : req1Hash(s);
      const bytes = Buffer.concat([
        randomBytes(f.beforeReq1 ?? 0),
        sync,
        xor20(req2Hash(f.infoHash), req3Hash(s)),
        encrypt.copy(fields),
        encrypt.copy(ia),
      ]);
      return { bytes, encrypt, decrypt };
    },
  };
}

export interface RawAnswer {
  select: number;
  padBLength?: number;
  padDLength?: number;
  /** Garbage between PadB and ENCRYPT(VC) (counts against the 512-byte window). */
  beforeVc?: number;
}

/** A hand-built responder's reply to an initiator's opening, for `infoHash`. */
export function rawResponderAnswer(opening: Buffer, infoHash: Buffer, f: RawAnswer): { bytes: Buffer; encrypt: Rc4 } {
  const keys = createKeyPair();
  const s = keys.secretWith(opening.subarray(0, DH_KEY_LENGTH));
  const { keyB } = streamKeys(s, infoHash);
  const encrypt = mseRc4(keyB);
  const padD = f.padDLength ?? 0;
  const fields = Buffer.alloc(8 + 4 + 2 + Math.min(padD, 1024));
  fields.writeUInt32BE(f.select, 8);
  fields.writeUInt16BE(padD, 12);
  const bytes = Buffer.concat([keys.publicKey, randomBytes(f.padBLength ?? 0), randomBytes(f.beforeVc ?? 0), encrypt.copy(fields)]);
  return { bytes, encrypt };
}
