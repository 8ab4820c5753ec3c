/**
 * The one owner of the UDP tracker's I/O choice: the native addon of native/udp-batch (recvmmsg /
 * sendmmsg batches; built by `npm ci` where a C compiler is, see its binding.gyp), or node:dgram
 * when it is not built, does not load, or `P2P_UDP_BATCH=0` says so. `P2P_UDP_BATCH=1` demands
 * the addon (an error if it cannot load). `NODE_DEBUG=p2p-udp` logs the choice once, on stderr.
 */
import { createRequire } from 'node:module';
import { debuglog } from 'node:util';

/** An open native socket, as native/udp-batch/udp_batch_napi.c hands it out (opaque). */
export interface NativeUdpHandle {
  readonly nativeUdpHandle: never;
}

/** The addon's functions (native/udp-batch/udp_batch.h describes the buffers' layout). */
export interface UdpBatchAddon {
  open(
    family: 4 | 6, host: string, port: number, reusePort: boolean, bufferBytes: number,
    inData: Buffer, inMeta: Buffer, inSlots: number, outData: Buffer, outMeta: Buffer, outSlots: number, slotBytes: number,
    onBatch: (count: number) => void, onWritable: () => void,
  ): NativeUdpHandle;
  /** Answers [first, first + count) of the out slots; returns how many were consumed. */
  send(h: NativeUdpHandle, first: number, count: number): number;
  localPort(h: NativeUdpHandle): number;
  /** [truncated datagrams dropped, answers the kernel refused, errno of the last refusal] */
  counters(h: NativeUdpHandle): [number, number, number];
  close(h: NativeUdpHandle): void;
}

/** Per received datagram, in inMeta: length, port, family, text length, address, scope, text. */
export const IN_META = 80;
export const IN_TEXT_AT = 32;
/** Per answer, in outMeta: length, then inMeta's bytes 4..28 (the client's port and address). */
export const OUT_META = 32;

export type UdpIo = 'batch' | 'dgram';

const ADDON_PATH = '../../../native/udp-batch/build/Release/udp_batch.node'; // from src/ and dist/ alike
const debug = debuglog('p2p-udp');
let addon: UdpBatchAddon | null | undefined;
let loadError: Error | undefined;

function load(): UdpBatchAddon | null {
  if (addon !== undefined) return addon;
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as UdpBatchAddon;
  } catch (e) {
    addon = null;
    loadError = e as Error;
  }
  return addon;
}

/** The addon when it loads (whatever P2P_UDP_BATCH says), else null: for tests and benches. */
export function loadUdpBatchAddon(): UdpBatchAddon | null {
  return load();
}

/**
 * The I/O a new UDP front end uses, and the addon for 'batch'. `wanted` (a test's choice)
 * overrides the environment; 'batch' wanted and not loadable throws.
 */
export function chooseUdpIo(wanted?: UdpIo): { io: 'batch'; addon: UdpBatchAddon } | { io: 'dgram'; addon: null } {
  const env = process.env['P2P_UDP_BATCH'];
  const want = wanted ?? (env === '0' ? 'dgram' : env === '1' ? 'batch' : undefined);
  if (want === 'dgram') {
    logChoice('node:dgram (asked for)');
    return { io: 'dgram', addon: null };
  }
  const a = load();
  if (a) {
    logChoice('native recvmmsg/sendmmsg batches (native/udp-batch)');
    return { io: 'batch', addon: a };
  }
  if (want === 'batch') throw new Error(`the UDP batch addon (native/udp-batch) does not load: ${loadError?.message}`);
  logChoice(`node:dgram (native/udp-batch not loaded: ${loadError?.message.split('\n')[0]})`);
  return { io: 'dgram', addon: null };
}

let logged = false;
function logChoice(what: string): void {
  if (logged) return;
  logged = true;
  debug(`udp tracker I/O: ${what}`);
}
