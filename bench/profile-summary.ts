/**
 * Summarise a V8 CPU profile (`node --cpu-prof`): the top functions by self time, and our own
 * functions (src/, through dist/'s source maps) by total time (self + everything they call).
 *
 *   npx tsx bench/profile-summary.ts bench/profiles/tracker-announce.cpuprofile [--top 15]
 *                                    [--from-us N --to-us N]
 *
 * `--from-us/--to-us` keep only the samples taken in that window (V8's monotonic clock, in
 * microseconds, the clock of process.hrtime); a `<profile>.window.json` written beside the
 * profile by the benchmark (e.g. the wrk run, without the tracker's pre-population) is used when
 * no window is given.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

// ---- source maps (dist/*.js -> src/*.ts), enough for a line number ----

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
interface Segment {
  col: number;
  source: number;
  line: number;
}
class SourceMap {
  private readonly lines: Segment[][] = [];
  readonly sources: string[];
  constructor(file: string) {
    const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourceRoot?: string; mappings: string };
    this.sources = map.sources.map((s) => path.resolve(path.dirname(file), map.sourceRoot ?? '', s));
    let source = 0;
    let line = 0;
    for (const l of map.mappings.split(';')) {
      const segs: Segment[] = [];
      let col = 0;
      for (const seg of l.split(',')) {
        if (!seg) continue;
        const v = decodeVlq(seg);
        col += v[0]!;
        if (v.length >= 4) {
          source += v[1]!;
          line += v[2]!;
          segs.push({ col, source, line });
        }
      }
      this.lines.push(segs);
    }
  }
  /** 0-based generated (line, column) -> original (source path, 0-based line). */
  lookup(line: number, col: number): { source: string; line: number } | undefined {
    const segs = this.lines[line];
    if (!segs?.length) return undefined;
    let best = segs[0]!;
    for (const s of segs) if (s.col <= col) best = s;
    return { source: this.sources[best.source]!, line: best.line };
  }
}
function decodeVlq(s: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of s) {
    const d = B64.indexOf(ch);
    value += (d & 31) << shift;
    if (d & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}
const maps = new Map<string, SourceMap | null>();
function sourceMapFor(jsFile: string): SourceMap | null {
  if (!maps.has(jsFile)) {
    const f = jsFile + '.map';
    let m: SourceMap | null = null;
    try {
      if (existsSync(f)) m = new SourceMap(f);
    } catch {
      m = null;
    }
    maps.set(jsFile, m);
  }
  return maps.get(jsFile)!;
}

// ---- naming ----

interface Fn {
  key: string;
  name: string;
  where: string;
  ours: boolean;
}

function describe(cf: CallFrame): Fn {
  const name = cf.functionName || (cf.url ? '(anonymous)' : '(root)');
  let url = cf.url;
  let where = '';
  let ours = false;
  if (url.startsWith('file://')) url = fileURLToPath(url);
  if (url.startsWith(path.join(ROOT, 'dist') + path.sep) || url.startsWith(path.join(ROOT, 'src') + path.sep)) {
    ours = true;
    const m = url.endsWith('.js') ? sourceMapFor(url)?.lookup(cf.lineNumber, cf.columnNumber) : undefined;
    where = m ? `${path.relative(ROOT, m.source)}:${m.line + 1}` : `${path.relative(ROOT, url)}:${cf.lineNumber + 1}`;
  } else if (url.includes('/node_modules/')) {
    where = `${url.slice(url.lastIndexOf('/node_modules/') + 14)}:${cf.lineNumber + 1}`;
  } else if (url) {
    where = `${url.startsWith(ROOT) ? path.relative(ROOT, url) : url}:${cf.lineNumber + 1}`;
  }
  return { key: `${name}@${where}`, name, where, ours };
}

// ---- summary ----

export interface SummaryOptions {
  top?: number;
  window?: { fromUs: number; toUs: number };
}

export function summarise(profile: CpuProfile, opts: SummaryOptions = {}): string {
  const top = opts.top ?? 15;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fnOf = new Map<number, Fn>();
  for (const n of profile.nodes) fnOf.set(n.id, describe(n.callFrame));

  // Sample i is taken at startTime + sum(timeDeltas[0..i]) and lasts until the next one.
  const times: number[] = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    times.push(t);
  }
  const self = new Map<string, { fn: Fn; us: number }>();
  const total = new Map<string, { fn: Fn; us: number; self: number }>();
  let sampled = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const at = times[i]!;
    if (opts.window && (at < opts.window.fromUs || at > opts.window.toUs)) continue;
    const dur = Math.max(0, (i + 1 < times.length ? times[i + 1]! : profile.endTime) - at);
    const id = profile.samples[i]!;
    const fn = fnOf.get(id)!;
    sampled += dur;
    if (fn.name === '(idle)') idle += dur;
    const s = self.get(fn.key) ?? { fn, us: 0 };
    s.us += dur;
    self.set(fn.key, s);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const f = fnOf.get(n)!;
      if (!f.ours || seen.has(f.key)) continue;
      seen.add(f.key);
      const e = total.get(f.key) ?? { fn: f, us: 0, self: 0 };
      e.us += dur;
      if (n === id) e.self += dur;
      total.set(f.key, e);
    }
  }
  const ms = (us: number) => (us / 1000).toFixed(0);
  const pc = (us: number) => (sampled ? ((100 * us) / sampled).toFixed(1) : '0');
  const busy = sampled - idle;
  const lines: string[] = [];
  lines.push(
    `${ms(sampled)} ms sampled${opts.window ? ' (window of the load only)' : ''}; idle ${pc(idle)}%, busy ${ms(busy)} ms. Percentages are of all sampled time.`,
    '',
    `Top ${top} by self time:`,
    '',
    '| self ms | self % | function | where |',
    '|---:|---:|---|---|',
  );
  for (const e of [...self.values()].sort((a, b) => b.us - a.us).slice(0, top)) {
    lines.push(`| ${ms(e.us)} | ${pc(e.us)} | \`${e.fn.name}\` | ${e.fn.where || '-'} |`);
  }
  lines.push('', `Our functions (src/) by total time (self + callees), top ${top}:`, '', '| total ms | total % | self ms | function | where |', '|---:|---:|---:|---|---|');
  for (const e of [...total.values()].sort((a, b) => b.us - a.us).slice(0, top)) {
    lines.push(`| ${ms(e.us)} | ${pc(e.us)} | ${ms(e.self)} | \`${e.fn.name}\` | ${e.fn.where} |`);
  }
  return lines.join('\n');
}

export function summariseFile(file: string, opts: SummaryOptions = {}): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  let window = opts.window;
  const side = `${file}.window.json`;
  if (!window && existsSync(side)) window = JSON.parse(readFileSync(side, 'utf8')) as { fromUs: number; toUs: number };
  return summarise(profile, { ...opts, window });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string' }, 'from-us': { type: 'string' }, 'to-us': { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length === 0) {
    console.error('usage: npx tsx bench/profile-summary.ts FILE.cpuprofile... [--top 15] [--from-us N --to-us N]');
    process.exit(2);
  }
  const window = values['from-us'] !== undefined && values['to-us'] !== undefined ? { fromUs: Number(values['from-us']), toUs: Number(values['to-us']) } : undefined;
  for (const f of positionals) {
    console.log(`### ${path.relative(process.cwd(), f)}\n`);
    console.log(summariseFile(f, { top: values.top ? Number(values.top) : 15, window }));
    console.log('');
  }
}
