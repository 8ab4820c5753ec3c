/** A test's Server-Sent Events reader: the events of one stream, parsed, until enough or a deadline. */
import http from 'node:http';

export interface SseEvent {
  event: string;
  data: string;
}

/** Read events from `url` until `enough(events)` or `timeoutMs`; then close the stream. */
export function readEvents(url: string, enough: (events: SseEvent[]) => boolean, timeoutMs: number): Promise<{ status: number; events: SseEvent[] }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    let status = 0;
    let buffered = '';
    const req = http.get(url, { agent: false }, (res) => {
      status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n');
          if (data) events.push({ event, data });
        }
        if (enough(events)) finish();
      });
      res.on('end', finish);
    });
    const timer = setTimeout(finish, timeoutMs);
    function finish() {
      clearTimeout(timer);
      req.destroy();
      resolve({ status, events });
    }
    req.on('error', (e) => (status ? finish() : reject(e)));
  });
}
