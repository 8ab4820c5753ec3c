/**
 * Download progress for people: a bar redrawn in place on a terminal; a plain line every few
 * seconds when stdout is a pipe or a file (logs, tests).
 */
import type { ProgressSnapshot } from '../download/session.ts';
import type { LineSink } from './seeding-status.ts';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** Our web seeds are servers, not peers: `peers 2 + web seed`, `peers 0 + 2 web seeds`. */
function webSeedsNote(n: number | undefined): string {
  if (!n) return '';
  return n === 1 ? ' + web seed' : ` + ${n} web seeds`;
}

export function describe(p: ProgressSnapshot): { percent: string; line: string } {
  const percent = p.total ? ((p.done / p.total) * 100).toFixed(1) : '100.0';
  const eta = p.rate > 0 ? formatEta((p.total - p.done) / p.rate) : '--:--';
  return { percent, line: `${percent}% ${formatBytes(p.done)}/${formatBytes(p.total)} ${formatBytes(p.rate)}/s ETA ${eta} peers ${p.peers}${webSeedsNote(p.webSeeds)}` };
}

export class ProgressDisplay {
  private lastLine = 0;
  private drawn = false;

  constructor(
    private readonly out: LineSink = process.stdout,
    private readonly plainEveryMs = 5000,
  ) {}

  update(p: ProgressSnapshot): void {
    const { percent, line } = describe(p);
    if (this.out.isTTY) {
      const width = 24;
      const filled = Math.round((Number(percent) / 100) * width);
      this.out.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${line}\x1b[K`);
      this.drawn = true;
    } else if (Date.now() - this.lastLine >= this.plainEveryMs && p.done < p.total && (p.done > 0 || p.peers > 0 || p.webSeeds > 0)) {
      this.lastLine = Date.now();
      this.out.write(`Progress: ${line}\n`);
    }
  }

  /** End the bar's line so that the next message starts on its own line. */
  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
