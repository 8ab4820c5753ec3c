/**
 * `--json`: newline-delimited JSON events on stdout for scripts, instead of the human lines
 * (progress, peer joined, piece verified, done, error). Errors still get their one human line
 * on stderr too. The session's lines are mapped to events by what they say (lineEvent), so the
 * human wording stays the single source and every line reaches a script one way or another.
 */
import type { ProgressSnapshot } from '../download/session.ts';

export type JsonEvent =
  | { event: 'torrent'; infoHash: string; name?: string; magnet?: string }
  | ({ event: 'progress' } & ProgressSnapshot)
  | { event: 'peer'; address: string; seed: boolean; protocol: 'http' | 'wire' }
  | { event: 'webseed'; url: string }
  | { event: 'piece'; index: number }
  | { event: 'done'; name: string; path: string; folder: boolean }
  | { event: 'seeding'; url: string }
  | { event: 'error'; message: string }
  | { event: 'log'; message: string };

/** The event a human line stands for; `log` for lines with no event of their own. Pure. */
export function lineEvent(line: string): JsonEvent {
  let m = /^Downloading .+ from (Seeder|peer) (\S+)( \(BitTorrent protocol\))?$/.exec(line);
  if (m) return { event: 'peer', address: m[2]!, seed: m[1] === 'Seeder', protocol: m[3] ? 'wire' : 'http' };
  m = /^Downloading .+ from web seed (\S+)$/.exec(line);
  if (m) return { event: 'webseed', url: m[1]! };
  m = /^(File|Folder) downloaded: (.+), saved to: (.+)$/.exec(line);
  if (m) return { event: 'done', name: m[2]!, path: m[3]!, folder: m[1] === 'Folder' };
  m = /^Seeding .+ on (\S+) \(Ctrl-C to stop\)$/.exec(line);
  if (m) return { event: 'seeding', url: m[1]! };
  return { event: 'log', message: line };
}

/** Writes one JSON object per line, each with the time it happened. */
export class JsonEvents {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  emit(e: JsonEvent): void {
    this.out.write(JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n');
  }

  private lastProgress = { key: '', at: 0 };

  /** Progress when it moved (bytes, peers, web seeds), else at most every 5 s: a script's log stays small. */
  progress(p: ProgressSnapshot): void {
    const key = `${p.done}/${p.peers}/${p.webSeeds}`;
    const now = Date.now();
    if (key === this.lastProgress.key && now - this.lastProgress.at < 5000) return;
    this.lastProgress = { key, at: now };
    this.emit({ event: 'progress', ...p });
  }

  /** A human line, as its event. */
  line(text: string): void {
    this.emit(lineEvent(text));
  }
}
