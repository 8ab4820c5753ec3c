/**
 * `npm run bench [-- --rounds N] [-- --only NAME[,NAME]] [-- --no-profile]`: run the benchmark
 * scenarios, each against its named anchor(s) in the same run (A B A B ...), print a markdown
 * table of medians and ratios, write bench/results.json with the machine and every round's raw
 * numbers, and bench/results.md with the table, the notes and the CPU profile summaries.
 *
 * A missed target is printed as MISSED but does not fail the command (exit 0): machines are small
 * and noisy, and the numbers are the result. A row whose anchor is not installed is SKIPPED with
 * the command that installs it. A scenario that cannot run at all exits 1.
 * To add a scenario: a module exporting a `Scenario` (see scenario.ts), listed in SCENARIOS.
 */
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, type Scenario, type ScenarioResult } from './scenario.ts';
import { summariseFile } from './profile-summary.ts';
import swarmAggregation from './swarm-aggregation.ts';
import trackerAnnounce from './tracker-announce.ts';
import torrentCreate from './torrent-create.ts';
import transfer1g from './transfer-1g.ts';
import swarm8 from './swarm-8.ts';
import memory from './memory.ts';
import wire1g from './wire-1g.ts';
import wireUpload from './wire-upload.ts';
import trackerUdp from './tracker-udp.ts';
import trackerRedis from './tracker-redis.ts';
import magnet from './magnet.ts';

const SCENARIOS: Scenario[] = [swarmAggregation, trackerAnnounce, torrentCreate, transfer1g, swarm8, memory, wire1g, wireUpload, trackerUdp, trackerRedis, magnet];

const DEFAULT_ROUNDS = 5;
const MIN_ROUNDS = 3;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = path.join(HERE, 'results.json');
const RESULTS_MD = path.join(HERE, 'results.md');
const PROFILES = path.join(HERE, 'profiles');

const usage = `usage: npm run bench -- [--rounds N] [--only NAME[,NAME...]] [--no-profile]
  --rounds N    rounds of (anchor, ours) per scenario (default ${DEFAULT_ROUNDS}; claims need at least ${MIN_ROUNDS})
  --only NAME   run only these scenarios (${SCENARIOS.map((s) => s.name).join(', ')})
  --no-profile  skip the untimed CPU-profiled runs (bench/profiles/)`;

function fail(message: string): never {
  console.error(message);
  console.error(usage);
  process.exit(2);
}

let values: { rounds?: string; only?: string; help?: boolean; 'no-profile'?: boolean };
try {
  ({ values } = parseArgs({
    options: { rounds: { type: 'string' }, only: { type: 'string' }, 'no-profile': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: false,
  }));
} catch (e) {
  fail((e as Error).message);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const rounds = values.rounds === undefined ? DEFAULT_ROUNDS : Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) fail('--rounds must be a positive integer');
const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
for (const n of only ?? []) if (!SCENARIOS.some((s) => s.name === n)) fail(`no scenario named ${n}`);
const selected = only ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
const profileDir = values['no-profile'] ? undefined : PROFILES;

// Ctrl-C / SIGTERM: exit through process.exit so that every child still running is killed
// (harness/procs.ts kills its live children on 'exit').
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

const log = (line: string) => console.error(`[bench] ${line}`);

// NODE_EXTRA_CA_CERTS makes every node process read and parse that PEM bundle before it runs a
// line of JavaScript: ~45 ms of the ~70 ms `node -e 0` takes on this machine with Debian's
// 220 KB ca-certificates.crt (perf: node::crypto::UseExtraCaCerts, half of start-up). Nothing here
// uses TLS, so it is a cost of the machine's configuration, not of any program, added to every
// spawn-to-exit time of ours and of the Node anchors alike. The benchmark's processes run
// without it, and the results say so.
const ENV_UNSET = ['NODE_EXTRA_CA_CERTS'].filter((k) => process.env[k] !== undefined);
for (const k of ENV_UNSET) delete process.env[k];
const ENV_NOTE = ENV_UNSET.length ? `${ENV_UNSET.join(', ')} unset for every process of the benchmark (a CA bundle parsed at every node start-up; nothing here uses TLS)` : '';

const cpus = os.cpus();
const machine: Record<string, unknown> = {
  cores: cpus.length,
  cpuModel: cpus[0]?.model.trim() ?? 'unknown',
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  totalMemMiB: Math.round(os.totalmem() / 1024 / 1024),
  loadavgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  envUnset: ENV_UNSET,
  ...gitState(),
};

/** Which code was measured: the commit, and whether src/ had uncommitted changes (built into dist/). */
function gitState(): { commit?: string; srcDirty?: boolean } {
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: path.dirname(HERE), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git(['rev-parse', '--short', 'HEAD']), srcDirty: git(['status', '--porcelain', '--', 'src']) !== '' };
  } catch {
    return {};
  }
}
log(`${machine['cores']} cores, ${machine['cpuModel']}, Node ${machine['node']}, ${rounds} round(s), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (rounds < MIN_ROUNDS) log(`WARNING: fewer than ${MIN_ROUNDS} rounds; not enough to support a claim`);
if (ENV_NOTE) log(ENV_NOTE);

interface Row {
  scenario: string;
  name: string;
  description: string;
  result?: ScenarioResult;
  oursMedian?: number;
  anchorMedian?: number;
  ratio?: number;
  pass?: boolean;
  error?: string;
  seconds: number;
}

const rows: Row[] = [];
for (const s of selected) {
  log(`scenario ${s.name}: ${s.description}`);
  const t0 = performance.now();
  try {
    const out = await s.run({ rounds, log: (l) => log(`${s.name}: ${l}`), profileDir });
    const seconds = (performance.now() - t0) / 1000;
    for (const result of Array.isArray(out) ? out : [out]) {
      const name = result.label ? `${s.name}: ${result.label}` : s.name;
      if (result.skipped) {
        rows.push({ scenario: s.name, name, description: s.description, result, seconds });
        continue;
      }
      const oursMedian = median(result.rounds.map((r) => r.ours));
      const anchorMedian = median(result.rounds.map((r) => r.anchor));
      const ratio = oursMedian / anchorMedian;
      const t = result.target;
      const pass = t === undefined ? undefined : t.op === '>=' ? ratio >= t.value : ratio <= t.value;
      rows.push({ scenario: s.name, name, description: s.description, result, oursMedian, anchorMedian, ratio, pass, seconds });
    }
  } catch (e) {
    log(`scenario ${s.name} FAILED TO RUN: ${(e as Error).stack ?? e}`);
    rows.push({ scenario: s.name, name: s.name, description: s.description, error: (e as Error).message, seconds: (performance.now() - t0) / 1000 });
  }
}

const fmt = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const verdict = (r: Row) => {
  const res = r.result!;
  if (res.skipped) return `SKIPPED: ${res.skipped}`;
  if (!res.target) return 'info';
  // A near miss must not print as 100%: one decimal, rounded down.
  return r.pass ? 'pass' : `**MISSED** (${(Math.floor((r.ratio! / res.target.value) * 1000) / 10).toFixed(1)}% of target)`;
};
const table = [
  `| scenario | ours | anchor | unit | ours (median) | anchor (median) | ratio | target | result |`,
  `|---|---|---|---|---:|---:|---:|---|---|`,
];
for (const r of rows) {
  const res = r.result;
  if (!res) {
    table.push(`| ${r.name} | - | - | - | - | - | - | - | **ERROR**: ${r.error?.split('\n')[0]} |`);
    continue;
  }
  const target = res.target ? `${res.target.op} ${res.target.value}x` : '-';
  table.push(`| ${r.name} | ${res.ours} | ${res.anchor} | ${res.unit} | ${fmt(r.oursMedian)} | ${fmt(r.anchorMedian)} | ${fmt(r.ratio, 3)}x | ${target} | ${verdict(r)} |`);
}
const header = `Benchmarks: ${machine['cores']} cores, ${machine['cpuModel']}, Node ${machine['node']}, ${rounds} round(s) per scenario (anchor and ours alternated); load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`;
const details: string[] = [];
for (const r of rows) {
  if (!r.result || r.result.skipped) continue;
  details.push(`${r.name} per round (ours / ${r.result.anchor}, ${r.result.unit}): ${r.result.rounds.map((x) => `${fmt(x.ours)} / ${fmt(x.anchor)}`).join(', ')}`);
  for (const n of r.result.notes ?? []) details.push(`  ${n}`);
}
const missed = rows.filter((r) => r.result && r.result.target && !r.result.skipped && !r.pass);
for (const r of missed) details.push(`MISSED: ${r.name}: ratio ${fmt(r.ratio)}x, target ${r.result!.target!.op} ${r.result!.target!.value}x`);

// CPU profiles written by this run, summarised (bench/profile-summary.ts).
const profileSections: string[] = [];
for (const r of rows) {
  for (const p of r.result?.profiles ?? []) {
    try {
      if (p.window) await writeFile(`${p.file}.window.json`, JSON.stringify(p.window) + '\n');
      profileSections.push(`### ${p.title}\n\n\`${path.relative(process.cwd(), p.file)}\`\n\n${summariseFile(p.file, { window: p.window })}`);
    } catch (e) {
      profileSections.push(`### ${p.title}\n\ncould not summarise ${p.file}: ${(e as Error).message}`);
    }
  }
}

console.log('');
console.log(header);
console.log('');
for (const l of table) console.log(l);
console.log('');
for (const l of details) console.log(l);
for (const s of profileSections) console.log(`\n${s}`);

machine['loadavgAtEnd'] = os.loadavg().map((x) => Math.round(x * 100) / 100);
const date = new Date().toISOString();
const report = {
  date,
  machine,
  rounds,
  scenarios: rows.map((r) => ({
    name: r.name,
    scenario: r.scenario,
    description: r.description,
    seconds: Math.round(r.seconds),
    ...(r.result
      ? {
          ours: r.result.ours,
          anchor: r.result.anchor,
          unit: r.result.unit,
          skipped: r.result.skipped,
          oursMedian: r.oursMedian,
          anchorMedian: r.anchorMedian,
          ratio: r.ratio === undefined ? undefined : Math.round(r.ratio * 1000) / 1000,
          target: r.result.target,
          pass: r.pass,
          rounds: r.result.rounds,
          notes: r.result.notes,
          detail: r.result.detail,
          profiles: r.result.profiles?.map((p) => path.relative(path.dirname(HERE), p.file)),
        }
      : { error: r.error }),
  })),
};
await mkdir(HERE, { recursive: true });
await writeFile(RESULTS, JSON.stringify(report, null, 2) + '\n');
const md = [
  `# Benchmark results (${date.slice(0, 10)})`,
  '',
  `${header}. Platform ${machine['platform']}, ${machine['totalMemMiB']} MiB of memory; code at ${machine['commit'] ?? '?'}${machine['srcDirty'] ? ' with uncommitted changes in src/' : ''}. Command: \`npm run bench -- --rounds ${rounds}${only ? ` --only ${only.join(',')}` : ''}${profileDir ? '' : ' --no-profile'}\`${ENV_NOTE ? `; ${ENV_NOTE}` : ''}.`,
  '',
  ...table,
  '',
  '```',
  ...details,
  '```',
  ...(profileSections.length ? ['', '## Where the time goes', '', ...profileSections.flatMap((s) => [s, ''])] : []),
].join('\n');
await writeFile(RESULTS_MD, md + '\n');
console.log(`\nraw numbers: ${path.relative(process.cwd(), RESULTS) || RESULTS}; markdown: ${path.relative(process.cwd(), RESULTS_MD) || RESULTS_MD}`);

// Missed targets and skipped anchors are results, not failures; a scenario that could not run is a failure.
process.exit(rows.some((r) => r.error) ? 1 : 0);
