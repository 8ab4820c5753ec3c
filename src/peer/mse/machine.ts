/**
 * What the MSE initiator and responder share: bytes in, bytes to send out, one state's worth of
 * progress at a time; a failure leaves the machine failed and holding nothing of the peer's.
 */
import { Inbox } from './inbox.ts';
import { MseError } from './policy.ts';

export abstract class MseMachine<State extends string> {
  protected readonly inbox = new Inbox();

  constructor(protected state: State | 'done' | 'failed') {}

  /** Feed received bytes; returns the bytes to send (maybe none). Throws MseError. */
  receive(chunk: Buffer): Buffer[] {
    if (this.state === 'done' || this.state === 'failed') throw new MseError(`handshake already ${this.state}`);
    this.inbox.push(chunk);
    const out: Buffer[] = [];
    try {
      while (this.step(out));
    } catch (e) {
      this.state = 'failed';
      this.inbox.drain(); // hold nothing from a peer that failed
      throw e;
    }
    return out;
  }

  /** One state's worth of progress; false when more bytes are needed (or done). */
  protected abstract step(out: Buffer[]): boolean;
}
