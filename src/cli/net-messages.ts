/**
 * Network failures in words: Node's `connect ECONNREFUSED 127.0.0.1:5001` reaches users through
 * tracker and peer errors; `connection refused: nothing listens at 127.0.0.1:5001` says
 * what it means. Pure: rewrites the codes inside a message, leaves the rest of it alone.
 */

const WORDS: Record<string, (where: string) => string> = {
  ECONNREFUSED: (w) => `connection refused: nothing listens at ${w || 'that port'}`,
  ECONNRESET: (w) => `connection reset${w ? ` by ${w}` : ''}`,
  ETIMEDOUT: (w) => `no answer${w ? ` from ${w}` : ''} (timed out)`,
  EHOSTUNREACH: (w) => `no route to ${w || 'the host'}`,
  ENETUNREACH: (w) => `network unreachable${w ? ` (${w})` : ''}`,
  EADDRNOTAVAIL: (w) => `address not available${w ? ` (${w})` : ''}`,
  ENOTFOUND: (w) => `no such host${w ? `: ${w}` : ''}`,
  EAI_AGAIN: (w) => `the name lookup failed for now${w ? ` (${w})` : ''}`,
  EPIPE: () => 'the other side closed the connection',
};

/** `connect ECONNREFUSED 1.2.3.4:5` / `getaddrinfo ENOTFOUND host` / `read ECONNRESET` -> words. */
export function plainNetError(message: string): string {
  return message.replace(/\b(?:(?:connect|getaddrinfo|read|write|send|recv|queryA+) )?(E[A-Z_]{4,})\b(?: ([^\s,;)]+))?/g, (all, code: string, where: string | undefined) => {
    const words = WORDS[code];
    return words ? words(where ?? '') : all;
  });
}
