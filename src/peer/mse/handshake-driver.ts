/**
 * MSE on a socket: runs the initiator or responder machine over a connected socket within one
 * deadline, then hands back the payload stream. Any failure destroys that socket and rejects
 * with MseError.
 */
import type { PeerSocket } from '../wire/peer-socket.ts';
import { EncryptedStream } from './encrypted-stream.ts';
import { MseInitiator } from './initiator.ts';
import { type EncryptionPolicy, MseError, type SelectedCrypto } from './policy.ts';
import { MseResponder } from './responder.ts';

export const MSE_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface AcceptMseOptions {
  policy: EncryptionPolicy;
  /** The info hashes we serve (SKEY candidates), asked once per handshake. */
  infoHashes: () => Iterable<Buffer>;
  timeoutMs?: number;
}

export interface AcceptedMse {
  /** The payload stream: decrypting/encrypting for RC4, the socket itself for plaintext. */
  stream: PeerSocket;
  infoHash: Buffer;
  /** IA and whatever followed it, decrypted: begins with the peer's BitTorrent handshake. */
  initial: Buffer;
  selected: SelectedCrypto;
}

export interface InitiateMseOptions {
  policy: EncryptionPolicy;
  /** Sent as IA, encrypted with the handshake (our BitTorrent handshake: no extra round trip). */
  initialPayload?: Buffer;
  timeoutMs?: number;
}

export interface InitiatedMse {
  stream: PeerSocket;
  /** The peer's first payload bytes that came with the end of its handshake, decrypted. */
  rest: Buffer;
  selected: SelectedCrypto;
}

/** Answer an incoming MSE handshake whose first bytes (`first`) the sniffer already read. */
export async function acceptMse(socket: PeerSocket, first: Buffer, opts: AcceptMseOptions): Promise<AcceptedMse> {
  let machine: MseResponder;
  try {
    machine = new MseResponder({ policy: opts.policy, infoHashes: opts.infoHashes });
  } catch (e) {
    socket.destroy();
    throw e;
  }
  await drive(socket, machine, [], first, opts.timeoutMs);
  const r = machine.result!;
  const stream = r.selected === 'rc4' ? new EncryptedStream(socket, r.encrypt, r.decrypt) : socket;
  return { stream, infoHash: r.infoHash, initial: r.initial, selected: r.selected };
}

/** Run MSE as the initiator on a connected socket for `infoHash`. */
export async function initiateMse(socket: PeerSocket, infoHash: Buffer, opts: InitiateMseOptions): Promise<InitiatedMse> {
  let machine: MseInitiator;
  try {
    machine = new MseInitiator({ policy: opts.policy, infoHash, initialPayload: opts.initialPayload });
  } catch (e) {
    socket.destroy();
    throw e;
  }
  await drive(socket, machine, [machine.opening()], Buffer.alloc(0), opts.timeoutMs);
  const r = machine.result!;
  const stream = r.selected === 'rc4' ? new EncryptedStream(socket, r.encrypt, r.decrypt) : socket;
  return { stream, rest: r.rest, selected: r.selected };
}

interface Machine {
  receive(chunk: Buffer): Buffer[];
  readonly result: unknown;
}

/** Feed the socket's bytes to `machine` and write its answers until it has a result. */
function drive(socket: PeerSocket, machine: Machine, opening: Buffer[], first: Buffer, timeoutMs = MSE_HANDSHAKE_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.pause(); // the payload's reader resumes it once its own listener is in place
      if (!err) return resolve();
      socket.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      try {
        for (const out of machine.receive(chunk)) socket.write(out);
      } catch (e) {
        return finish(e instanceof MseError ? e : new MseError(`MSE handshake failed: ${(e as Error).message}`));
      }
      if (machine.result) finish(null);
    };
    const onError = (e: Error) => finish(new MseError(`connection error during the MSE handshake: ${e.message}`));
    const onClose = () => finish(new MseError('connection closed during the MSE handshake'));
    const timer = setTimeout(() => finish(new MseError(`no MSE handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    if (socket.destroyed) return onClose();
    for (const out of opening) socket.write(out);
    if (first.length > 0) onData(first);
    if (!settled) socket.resume();
  });
}
