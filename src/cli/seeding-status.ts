/**
 * What a seeding peer shows a person: on a terminal, one status line redrawn every second (peers,
 * uploaded, ratio, rate); when it stops, a closing line with the totals, on a line of its own
 * (after the terminal's `^C`).
 */
import { formatBytes } from './progress.ts';

export interface SeedingNumbers {
  /** Bytes of content sent so far. */
  uploaded: number;
  /** Peers connected now (HTTP and BitTorrent). */
  peers: number;
}

/**
 * Where a status line goes: a terminal (redrawn in place) or a sink of whole lines. process.stdout
 * is one; linesTo() makes one of the program's own output.
 */
export interface LineSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export class SeedingStatus {
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private readonly started = Date.now();
  private last = { at: Date.now(), uploaded: 0 };

  constructor(
    private readonly name: string,
    private readonly size: number,
    private readonly read: () => SeedingNumbers,
    private readonly out: LineSink = process.stdout,
  ) {}

  /** Redraw every second on a terminal; nothing periodic in logs and pipes. */
  start(): void {
    if (!this.out.isTTY) return;
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
  }

  /** Stop redrawing and print the closing line. */
  stop(): void {
    clearInterval(this.timer);
    if (this.out.isTTY) this.out.write(this.drawn ? '\r\x1b[K' : '\n');
    const { uploaded } = this.read();
    this.out.write(`Stopped seeding ${this.name}: uploaded ${formatBytes(uploaded)} (ratio ${this.ratio(uploaded)}) in ${formatDuration(Date.now() - this.started)}\n`);
  }

  private draw(): void {
    const { uploaded, peers } = this.read();
    const now = Date.now();
    const rate = ((uploaded - this.last.uploaded) * 1000) / Math.max(1, now - this.last.at);
    this.last = { at: now, uploaded };
    this.out.write(`\rSeeding ${this.name}: ${peers} peer${peers === 1 ? '' : 's'}, uploaded ${formatBytes(uploaded)} (ratio ${this.ratio(uploaded)}), ${formatBytes(rate)}/s\x1b[K`);
    this.drawn = true;
  }

  private ratio(uploaded: number): string {
    return this.size > 0 ? (uploaded / this.size).toFixed(2) : '0.00';
  }
}

/** `1 h 02 min`, `3 min 05 s`, `12 s`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/**
 * A sink that is no terminal and hands each line to `log`, the program's own output: a status
 * then writes only its closing line, a progress display its plain lines (--json, -q: nowhere).
 */
export function linesTo(log: (line: string) => void): LineSink {
  return { isTTY: false, write: (text: string) => log(text.trimEnd()) };
}
