/**
 * Live updates over Server-Sent Events: JSON messages handed to the page, and a reconnect with
 * backoff when the server drops the stream (the browser's own retry gives up after an HTTP error).
 */

export type LiveStatus = 'connecting' | 'live' | 'offline';

export interface LiveOptions {
  url: string;
  /** Called with each message's parsed JSON; messages that are not JSON are ignored. */
  onUpdate(data: unknown): void;
  onStatus?(status: LiveStatus): void;
  /** Longest wait between reconnects. */
  maxBackoffMs?: number;
}

export interface LiveLink {
  close(): void;
}

export function connectLive(o: LiveOptions): LiveLink {
  const maxBackoff = o.maxBackoffMs ?? 30_000;
  let backoff = 1000;
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const open = () => {
    if (closed) return;
    o.onStatus?.('connecting');
    const es = new EventSource(o.url);
    source = es;
    es.onopen = () => {
      backoff = 1000;
      o.onStatus?.('live');
    };
    es.onmessage = (ev: MessageEvent<string>) => {
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      o.onUpdate(data);
    };
    es.onerror = () => {
      // CONNECTING: the browser retries by itself. CLOSED: it gave up; we try again later.
      if (es.readyState !== EventSource.CLOSED) return o.onStatus?.('connecting');
      o.onStatus?.('offline');
      es.close();
      timer = setTimeout(open, backoff);
      backoff = Math.min(maxBackoff, backoff * 2);
    };
  };
  open();
  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
      source?.close();
    },
  };
}

/** Fetch JSON from our own API (same origin), or throw with the status. */
export async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}
