/**
 * The head of an HTTP/1.x response (status line and headers, up to the blank line) as the
 * PieceClient needs it: status, Content-Length, chunked, keep-alive. Pure, so it is fuzzed alone.
 */

export interface ResponseHead {
  status: number;
  /** Undefined when the answer declares none. */
  contentLength: number | undefined;
  chunked: boolean;
  /** The server closes the connection after this answer (HTTP/1.0, or `Connection: close`). */
  close: boolean;
}

/** Parse `head` (latin1 text without the final CRLF CRLF); a string says what is wrong with it. */
export function parseResponseHead(head: string): ResponseHead | string {
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) return 'malformed HTTP status line';
  const out: ResponseHead = { status: Number(m[2]), contentLength: undefined, chunked: false, close: m[1] === '0' };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return 'malformed HTTP header';
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (out.contentLength !== undefined && out.contentLength !== Number(value))) return 'bad Content-Length';
      out.contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      out.chunked = true;
    } else if (name === 'connection') {
      const v = value.toLowerCase();
      if (v.includes('close')) out.close = true;
      else if (v.includes('keep-alive')) out.close = false;
    }
  }
  return out;
}
