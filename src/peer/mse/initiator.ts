/**
 * The dialling side (A) of the MSE handshake as a state machine (see responder.ts for the
 * message sequence). No I/O here; handshake-driver.ts connects it to a socket.
 */
import { randomBytes } from 'node:crypto';
import { createKeyPair, DH_KEY_LENGTH, type DhKeyPair, req1Hash, req2Hash, req3Hash, streamKeys, xor20 } from './dh.ts';
import { randomPadLength } from './inbox.ts';
import { MseMachine } from './machine.ts';
import { checkSelected, cryptoProvide, type EncryptionPolicy, MseError, type SelectedCrypto } from './policy.ts';
import { mseRc4, type Rc4 } from './rc4.ts';
import { MAX_IA_LENGTH, MAX_PAD, VC } from './responder.ts';

/** Where A looks for ENCRYPT(VC): after Yb, within PadB (<= 512) plus the 8-byte constant. */
export const VC_WINDOW = MAX_PAD + 8;

export interface InitiatorOptions {
  policy: EncryptionPolicy;
  infoHash: Buffer;
  /** IA: sent encrypted with the handshake (our BitTorrent handshake, saving a round trip). */
  initialPayload?: Buffer;
  /** For tests: a fixed key pair and PadA length. */
  keyPair?: DhKeyPair;
  padLength?: number;
}

export interface InitiatorResult {
  selected: SelectedCrypto;
  /** Keystreams positioned at the payload: `encrypt` ours (keyA), `decrypt` the peer's (keyB). */
  encrypt: Rc4;
  decrypt: Rc4;
  /** What followed the handshake (decrypted if RC4 was selected): the peer's first payload. */
  rest: Buffer;
}

type State = 'yb' | 'sync' | 'select' | 'padd' | 'done' | 'failed';

export class MseInitiator extends MseMachine<State> {
  private readonly keys: DhKeyPair;
  private readonly provide: number;
  private readonly ia: Buffer;
  private encrypt: Rc4 | undefined;
  private decrypt: Rc4 | undefined;
  private encryptedVc: Buffer = Buffer.alloc(0);
  private selected: SelectedCrypto = 'rc4';
  private padDLength = 0;
  result: InitiatorResult | null = null;

  constructor(private readonly opts: InitiatorOptions) {
    super('yb');
    this.provide = cryptoProvide(opts.policy);
    if (opts.infoHash.length !== 20) throw new MseError(`info hash of ${opts.infoHash.length} bytes`);
    this.ia = opts.initialPayload ?? Buffer.alloc(0);
    if (this.ia.length > MAX_IA_LENGTH) throw new MseError(`IA of ${this.ia.length} bytes (max ${MAX_IA_LENGTH})`);
    this.keys = opts.keyPair ?? createKeyPair();
  }

  /** The opening: Ya, PadA. */
  opening(): Buffer {
    return Buffer.concat([this.keys.publicKey, randomBytes(this.opts.padLength ?? randomPadLength(MAX_PAD))]);
  }

  protected step(out: Buffer[]): boolean {
    switch (this.state) {
      case 'yb':
        return this.readYb(out);
      case 'sync':
        return this.findVc();
      case 'select':
        return this.readSelect();
      case 'padd':
        return this.readPadD();
      case 'done':
      case 'failed':
        return false;
    }
  }

  /** Yb gives S; answer with the sync hash, the obfuscated SKEY and ENCRYPT(VC ... IA). */
  private readYb(out: Buffer[]): boolean {
    if (this.inbox.length < DH_KEY_LENGTH) return false;
    const secret = this.keys.secretWith(this.inbox.take(DH_KEY_LENGTH));
    const { keyA, keyB } = streamKeys(secret, this.opts.infoHash);
    this.encrypt = mseRc4(keyA);
    this.decrypt = mseRc4(keyB);
    // VC is zeros, so B's ENCRYPT(VC) is its keystream's first 8 bytes; this also moves our
    // decrypting keystream past the VC we are about to find.
    this.encryptedVc = this.decrypt.copy(VC);
    const fields = Buffer.alloc(8 + 4 + 2 + 2); // VC, crypto_provide, len(PadC) = 0, len(IA)
    fields.writeUInt32BE(this.provide, 8);
    fields.writeUInt16BE(this.ia.length, 14);
    const obfuscated = xor20(req2Hash(this.opts.infoHash), req3Hash(secret));
    out.push(Buffer.concat([req1Hash(secret), obfuscated, this.encrypt.copy(fields), this.encrypt.copy(this.ia)]));
    this.state = 'sync';
    return true;
  }

  private findVc(): boolean {
    const at = this.inbox.indexOf(this.encryptedVc);
    if (at < 0 || at > MAX_PAD) {
      if (at > MAX_PAD || this.inbox.length >= VC_WINDOW) throw new MseError('no ENCRYPT(VC) within PadB');
      return false;
    }
    this.inbox.take(at + 8);
    this.state = 'select';
    return true;
  }

  /** crypto_select, len(PadD). */
  private readSelect(): boolean {
    if (this.inbox.length < 6) return false;
    const plain = this.decrypt!.copy(this.inbox.take(6));
    this.selected = checkSelected(this.provide, plain.readUInt32BE(0));
    this.padDLength = plain.readUInt16BE(4);
    if (this.padDLength > MAX_PAD) throw new MseError(`PadD of ${this.padDLength} bytes (max ${MAX_PAD})`);
    this.state = 'padd';
    return true;
  }

  private readPadD(): boolean {
    if (this.inbox.length < this.padDLength) return false;
    const decrypt = this.decrypt!;
    decrypt.skip(this.padDLength);
    this.inbox.take(this.padDLength);
    const after = this.inbox.drain();
    const rest = this.selected === 'rc4' ? decrypt.copy(after) : Buffer.from(after);
    this.result = { selected: this.selected, encrypt: this.encrypt!, decrypt, rest };
    this.state = 'done';
    return false;
  }
}
