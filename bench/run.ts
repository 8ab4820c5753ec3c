/**
 * `npm run bench [-- --rounds N] [-- --only NAME]`: run the benchmark scenarios, each against its
 * named anchor in the same run (A B A B ...), print a markdown table of medians and ratios, and
 * write bench/results.json with the machine and every round's raw numbers.
 *
 * A missed target is printed as MISSED but does not fail the command (exit 0): machines are small
 * and noisy, and the numbers are the result. A scenario that cannot run at all exits 1.
 * To add a scenario: a module exporting a `Scenario` (see scenario.ts), listed in SCENARIOS.
 */
import os from 'node:os';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, type Scenario, type ScenarioResult } from './scenario.ts';
import swarmAggregation from './swarm-aggregation.ts';

const SCENARIOS: Scenario[] = [swarmAggregation];

const DEFAULT_ROUNDS = 5;
const MIN_ROUNDS = 3;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = path.join(HERE, 'results.json');

const usage = `usage: npm run bench -- [--rounds N] [--only NAME]
  --rounds N   rounds of (anchor, ours) per scenario (default ${DEFAULT_ROUNDS}; claims need at least ${MIN_ROUNDS})
  --only NAME  run only this scenario (${SCENARIOS.map((s) => s.name).join(', ')})`;

function fail(message: string): never {
  console.error(message);
  console.error(usage);
  process.exit(2);
}

let values: { rounds?: string; only?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: { rounds: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
const selected = values.only === undefined ? SCENARIOS : SCENARIOS.filter((s) => s.name === values.only);
if (selected.length === 0) fail(`no scenario named ${values.only}`);

// Ctrl-C / SIGTERM: exit through process.exit so that every child still running is killed
// (test/support/procs.ts kills its live children on 'exit').
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

const log = (line: string) => console.error(`[bench] ${line}`);
const cpus = os.cpus();
const machine: Record<string, unknown> = {
  cores: cpus.length,
  cpuModel: cpus[0]?.model.trim() ?? 'unknown',
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  totalMemMiB: Math.round(os.totalmem() / 1024 / 1024),
  loadavgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
};
log(`${machine['cores']} cores, ${machine['cpuModel']}, Node ${machine['node']}, ${rounds} round(s), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (rounds < MIN_ROUNDS) log(`WARNING: fewer than ${MIN_ROUNDS} rounds; not enough to support a claim`);

interface Row {
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
    const result = await s.run({ rounds, log: (l) => log(`${s.name}: ${l}`) });
    const oursMedian = median(result.rounds.map((r) => r.ours));
    const anchorMedian = median(result.rounds.map((r) => r.anchor));
    const ratio = oursMedian / anchorMedian;
    const pass = result.target.op === '>=' ? ratio >= result.target.value : ratio <= result.target.value;
    rows.push({ name: s.name, description: s.description, result, oursMedian, anchorMedian, ratio, pass, seconds: (performance.now() - t0) / 1000 });
  } catch (e) {
    log(`scenario ${s.name} FAILED TO RUN: ${(e as Error).stack ?? e}`);
    rows.push({ name: s.name, description: s.description, error: (e as Error).message, seconds: (performance.now() - t0) / 1000 });
  }
}

const fmt = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const lines = [
  `| scenario | ours | anchor | unit | ours (median) | anchor (median) | ratio | target | result |`,
  `|---|---|---|---|---:|---:|---:|---|---|`,
];
for (const r of rows) {
  const res = r.result;
  if (!res) {
    lines.push(`| ${r.name} | - | - | - | - | - | - | - | **ERROR**: ${r.error?.split('\n')[0]} |`);
    continue;
  }
  lines.push(
    `| ${r.name} | ${res.ours} | ${res.anchor} | ${res.unit} | ${fmt(r.oursMedian)} | ${fmt(r.anchorMedian)} | ${fmt(r.ratio)}x | ${res.target.op} ${res.target.value}x | ${r.pass ? 'pass' : '**MISSED**'} |`,
  );
}
console.log('');
console.log(`Benchmarks: ${machine['cores']} cores, ${machine['cpuModel']}, Node ${machine['node']}, ${rounds} round(s) per scenario (anchor and ours alternated); load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('');
for (const l of lines) console.log(l);
console.log('');
for (const r of rows) {
  if (!r.result) continue;
  console.log(`${r.name} per round (ours / anchor, ${r.result.unit}): ${r.result.rounds.map((x) => `${fmt(x.ours)} / ${fmt(x.anchor)}`).join(', ')}`);
  for (const n of r.result.notes ?? []) console.log(`  ${n}`);
}
const missed = rows.filter((r) => r.result && !r.pass);
for (const r of missed) {
  console.log(`MISSED: ${r.name}: ratio ${fmt(r.ratio)}x, target ${r.result!.target.op} ${r.result!.target.value}x`);
}

machine['loadavgAtEnd'] = os.loadavg().map((x) => Math.round(x * 100) / 100);
const report = {
  date: new Date().toISOString(),
  machine,
  rounds,
  scenarios: rows.map((r) => ({
    name: r.name,
    description: r.description,
    seconds: Math.round(r.seconds),
    ...(r.result
      ? {
          ours: r.result.ours,
          anchor: r.result.anchor,
          unit: r.result.unit,
          oursMedian: r.oursMedian,
          anchorMedian: r.anchorMedian,
          ratio: r.ratio === undefined ? undefined : Math.round(r.ratio * 1000) / 1000,
          target: r.result.target,
          pass: r.pass,
          rounds: r.result.rounds,
          notes: r.result.notes,
          detail: r.result.detail,
        }
      : { error: r.error }),
  })),
};
await writeFile(RESULTS, JSON.stringify(report, null, 2) + '\n');
console.log(`\nraw numbers: ${path.relative(process.cwd(), RESULTS) || RESULTS}`);

// Missed targets are results, not failures; a scenario that could not run is a failure.
process.exit(rows.some((r) => r.error) ? 1 : 0);
