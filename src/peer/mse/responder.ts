/**
 * The receiving side (B) of the MSE handshake as a state machine: bytes in, bytes to send out,
 * then a result. No I/O here; handshake-driver.ts connects it to a socket.
 *
 *   A->B  Ya, PadA
 *   B->A  Yb, PadB
 *   A->B  HASH('req1',S), HASH('req2',SKEY) xor HASH('req3',S),
 *         ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   B->A  ENCRYPT(VC, crypto_select, len(PadD), PadD), then the payload stream
 */
import { randomBytes } from 'node:crypto';
import { createKeyPair, DH_KEY_LENGTH, type DhKeyPair, req1Hash, req2HashMemo, req3Hash, streamKeys, xor20 } from './dh.ts';
import { randomPadLength } from './inbox.ts';
import { MseMachine } from './machine.ts';
import { CRYPTO_RC4, cryptoSelect, type EncryptionPolicy, MseError, type SelectedCrypto } from './policy.ts';
import { mseRc4, type Rc4 } from './rc4.ts';

/** PadA..PadD are at most 512 bytes (the spec). */
export const MAX_PAD = 512;
/**
 * Our bound on IA: real clients put the 68-byte BitTorrent handshake there (libtorrent,
 * Transmission); 1 KiB leaves room for a handshake plus a small message without letting a
 * stranger make us hold 64 KiB per half-open handshake.
 */
export const MAX_IA_LENGTH = 1024;
/** The verification constant: 8 zero bytes. */
export const VC = Buffer.alloc(8);
/** Where B looks for HASH('req1', S): after Ya, within PadA (<= 512) plus the 20-byte hash. */
export const REQ1_WINDOW = MAX_PAD + 20;

export interface ResponderOptions {
  policy: EncryptionPolicy;
  /** The info hashes we serve, asked once a peer names one (SKEY). */
  infoHashes: () => Iterable<Buffer>;
  /** For tests: a fixed key pair and PadB length. */
  keyPair?: DhKeyPair;
  padLength?: number;
}

export interface ResponderResult {
  infoHash: Buffer;
  selected: SelectedCrypto;
  /** Keystreams positioned at the payload: `encrypt` ours (keyB), `decrypt` the peer's (keyA). */
  encrypt: Rc4;
  decrypt: Rc4;
  /** IA decrypted, then whatever followed it (decrypted if RC4 was selected). */
  initial: Buffer;
}

type State = 'ya' | 'sync' | 'skey' | 'provide' | 'padc' | 'ia' | 'done' | 'failed';

export class MseResponder extends MseMachine<State> {
  private readonly keys: DhKeyPair;
  private secret: Buffer = Buffer.alloc(0);
  private req1: Buffer = Buffer.alloc(0);
  private infoHash: Buffer = Buffer.alloc(0);
  private encrypt: Rc4 | undefined;
  private decrypt: Rc4 | undefined;
  private select = 0;
  private padCLength = 0;
  private iaLength = 0;
  result: ResponderResult | null = null;

  constructor(private readonly opts: ResponderOptions) {
    super('ya');
    if (opts.policy === 'off') throw new MseError('encryption is off');
    this.keys = opts.keyPair ?? createKeyPair();
  }

  protected step(out: Buffer[]): boolean {
    switch (this.state) {
      case 'ya':
        return this.readYa(out);
      case 'sync':
        return this.findReq1();
      case 'skey':
        return this.readSkey();
      case 'provide':
        return this.readProvide(out);
      case 'padc':
        return this.readPadC();
      case 'ia':
        return this.readIa();
      case 'done':
      case 'failed':
        return false;
    }
  }

  private readYa(out: Buffer[]): boolean {
    if (this.inbox.length < DH_KEY_LENGTH) return false;
    this.secret = this.keys.secretWith(this.inbox.take(DH_KEY_LENGTH));
    this.req1 = req1Hash(this.secret);
    const padB = randomBytes(this.opts.padLength ?? randomPadLength(MAX_PAD));
    out.push(Buffer.concat([this.keys.publicKey, padB]));
    this.state = 'sync';
    return true;
  }

  private findReq1(): boolean {
    const at = this.inbox.indexOf(this.req1);
    if (at < 0 || at > MAX_PAD) {
      if (at > MAX_PAD || this.inbox.length >= REQ1_WINDOW) throw new MseError('no HASH(req1, S) within PadA');
      return false;
    }
    this.inbox.take(at + 20);
    this.state = 'skey';
    return true;
  }

  private readSkey(): boolean {
    if (this.inbox.length < 20) return false;
    const wanted = xor20(this.inbox.take(20), req3Hash(this.secret)); // = HASH('req2', SKEY)
    for (const ih of this.opts.infoHashes()) {
      if (ih.length === 20 && req2HashMemo(ih).equals(wanted)) {
        this.infoHash = Buffer.from(ih);
        const { keyA, keyB } = streamKeys(this.secret, this.infoHash);
        this.decrypt = mseRc4(keyA);
        this.encrypt = mseRc4(keyB);
        this.state = 'provide';
        return true;
      }
    }
    throw new MseError('peer asks for a torrent we do not serve');
  }

  /** ENCRYPT(VC, crypto_provide, len(PadC)): 14 bytes. Our answer goes out at once. */
  private readProvide(out: Buffer[]): boolean {
    if (this.inbox.length < 14) return false;
    const plain = this.decrypt!.copy(this.inbox.take(14));
    if (!plain.subarray(0, 8).equals(VC)) throw new MseError('wrong verification constant');
    this.select = cryptoSelect(this.opts.policy, plain.readUInt32BE(8));
    this.padCLength = plain.readUInt16BE(12);
    if (this.padCLength > MAX_PAD) throw new MseError(`PadC of ${this.padCLength} bytes (max ${MAX_PAD})`);
    const answer = Buffer.alloc(8 + 4 + 2); // VC, crypto_select, len(PadD) = 0
    answer.writeUInt32BE(this.select, 8);
    out.push(this.encrypt!.copy(answer));
    this.state = 'padc';
    return true;
  }

  /** PadC and len(IA). */
  private readPadC(): boolean {
    if (this.inbox.length < this.padCLength + 2) return false;
    const plain = this.decrypt!.copy(this.inbox.take(this.padCLength + 2));
    this.iaLength = plain.readUInt16BE(this.padCLength);
    if (this.iaLength > MAX_IA_LENGTH) throw new MseError(`IA of ${this.iaLength} bytes (max ${MAX_IA_LENGTH})`);
    this.state = 'ia';
    return true;
  }

  /** IA is always RC4 (A cannot know B's choice yet); what follows is in the selected method. */
  private readIa(): boolean {
    if (this.inbox.length < this.iaLength) return false;
    const decrypt = this.decrypt!;
    const ia = decrypt.copy(this.inbox.take(this.iaLength));
    const after = this.inbox.drain();
    const selected: SelectedCrypto = this.select === CRYPTO_RC4 ? 'rc4' : 'plaintext';
    const rest = selected === 'rc4' ? decrypt.copy(after) : Buffer.from(after);
    this.result = { infoHash: this.infoHash, selected, encrypt: this.encrypt!, decrypt, initial: Buffer.concat([ia, rest]) };
    this.state = 'done';
    return false;
  }
}
