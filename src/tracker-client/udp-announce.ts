/**
 * One announce to one UDP tracker (BEP 15, BEP 41): resolve the host, connect (or reuse the
 * tracker's connection id of the last minute), announce, retransmit on silence. The I/O around
 * the pure udp-packets.ts, over the shared socket of udp-tracker-link.ts.
 */
import { hostPort } from '../bittorrent/address.ts';
import { lookup } from 'node:dns/promises';
import { randomBytes } from 'node:crypto';
import type { AnnounceParams } from './announce-url.ts';
import { TrackerFailure, type TrackerReply } from './reply.ts';
import { encodeAnnounce, encodeConnect, parseAnnounceAnswer, parseConnectAnswer, parseUdpTrackerUrl, type UdpTrackerTarget } from './udp-packets.ts';
import { udpTrackerLink, type UdpTrackerLink } from './udp-tracker-link.ts';

/** BEP 15: with no answer after 15 * 2^n s, send again, n = 0, 1, ... up to 8. */
export const UDP_RETRY_BASE_MS = 15_000;
export const UDP_MAX_RETRY_EXPONENT = 8;
/**
 * Our cap on the whole announce to one UDP tracker (connect, announce and their retransmissions):
 * sends at 0, 15 and 45 s, then the next tracker of the tier is tried and the announcer's own
 * backoff takes over. The BEP's full schedule (n up to 8) would hold one announce for 2 hours.
 */
export const UDP_ANNOUNCE_DEADLINE_MS = 60_000;

/** BEP 15 `key`, one per process: the tracker may use it to know us again after an address change. */
const ANNOUNCE_KEY = randomBytes(4).readUInt32BE(0);

export interface UdpAnnounceOptions {
  /** Total time for this tracker (default UDP_ANNOUNCE_DEADLINE_MS). */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** The BEP's 15 s, shortened by tests. */
  retryBaseMs?: number;
}

/** Announce `p` to the tracker of `url` (`udp://host:port/path?query`). */
export async function announceUdp(url: string, p: AnnounceParams, o: UdpAnnounceOptions = {}): Promise<TrackerReply> {
  const target = parseUdpTrackerUrl(url);
  const deadlineMs = o.deadlineMs ?? UDP_ANNOUNCE_DEADLINE_MS;
  // One signal for this announce: the caller's abort or our deadline, whichever comes first.
  // (A listener removed at the end, not AbortSignal.any: the caller's signal lives for hours.)
  const stop = new AbortController();
  const label = hostPort(target.host, target.port);
  const timer = setTimeout(() => stop.abort(new Error(`udp tracker ${label} did not answer within ${deadlineMs / 1000} s`)), deadlineMs);
  const onCallerAbort = () => stop.abort(o.signal?.reason);
  if (o.signal?.aborted) onCallerAbort();
  o.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const signal = stop.signal;
  try {
    const { address, family } = await untilAborted(lookup(target.host), signal);
    const link = udpTrackerLink(address, target.port, family === 6 ? 6 : 4);
    return await connectAndAnnounce(link, target, p, signal, o.retryBaseMs ?? UDP_RETRY_BASE_MS);
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/**
 * Connect unless a connection id of the last minute is at hand, then announce; on silence send
 * again after 15 * 2^n s (connecting again first once the id is a minute old). An error packet
 * in answer to a reused id may mean the tracker forgot it: connect afresh once, then believe it.
 */
async function connectAndAnnounce(link: UdpTrackerLink, target: UdpTrackerTarget, p: AnnounceParams, signal: AbortSignal, baseMs: number): Promise<TrackerReply> {
  let n = 0;
  const waitFor = () => baseMs * 2 ** n;
  const silence = () => (n = Math.min(n + 1, UDP_MAX_RETRY_EXPONENT));
  for (;;) {
    let connectionId = link.connectionId();
    const reused = connectionId !== undefined;
    if (!connectionId) {
      const answer = await link.request(encodeConnect, waitFor(), signal);
      if (!answer) {
        silence();
        continue;
      }
      const connect = parseConnectAnswer(answer);
      if (!connect.ok) throw new TrackerFailure(`tracker refused: ${connect.message}`);
      connectionId = connect.value;
      link.rememberConnectionId(connectionId);
      n = 0;
    }
    const id = connectionId;
    const build = (transactionId: number) => encodeAnnounce(p, { connectionId: id, transactionId, key: ANNOUNCE_KEY, urlData: target.urlData });
    const answer = await link.request(build, waitFor(), signal);
    if (!answer) {
      silence();
      continue;
    }
    const reply = parseAnnounceAnswer(answer, link.family);
    if (reply.ok) return reply.value;
    if (!reused) throw new TrackerFailure(`tracker refused: ${reply.message}`);
    link.forgetConnectionId(id);
  }
}

/** `work`, or the abort reason of `signal` if that comes first (a DNS lookup cannot be cancelled). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
