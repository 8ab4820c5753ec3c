/**
 * `npm test`'s reporter outside CI: a dot per test while the suite runs, then what a person needs:
 * every failure with its error, every skip with its reason (a missing Debian program names its
 * `apt-get install`), and the totals. Under CI=true the package script uses `spec` instead, whose
 * full log is the record. (JavaScript: the runner loads reporters before `--import tsx` applies.)
 */
import { inspect } from 'node:util';

/** @typedef {{ name: string, nesting: number, file?: string, skip?: string | boolean, todo?: string | boolean, details?: { type?: string, error?: { failureType?: string } }, message?: string }} TestData */

const WIDTH = 80;

/** @param {AsyncIterable<{ type: string, data: TestData }>} source */
export default async function* summaryReporter(source) {
  /** @type {TestData[]} */
  const failures = [];
  /** @type {TestData[]} */
  const skips = [];
  /** @type {string[]} */
  const totals = [];
  let column = 0;
  for await (const { type, data } of source) {
    let mark = '';
    if (type === 'test:pass' && data.details?.type !== 'suite') {
      mark = data.skip ? 's' : data.todo ? 't' : '.';
      if (data.skip) skips.push(data);
    } else if (type === 'test:fail' && data.todo) {
      mark = 't'; // a known limitation, written down as a todo: reported in the totals
    } else if (type === 'test:fail' && !isOnlyChildFailure(data)) {
      mark = 'X';
      failures.push(data);
    } else if (type === 'test:diagnostic' && data.nesting === 0 && data.message && /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(data.message)) {
      totals.push(data.message);
    }
    if (mark) {
      column = (column + 1) % WIDTH;
      yield column === 0 ? `${mark}\n` : mark;
    }
  }
  yield '\n';
  for (const s of skips) yield `skipped: ${s.name}${typeof s.skip === 'string' ? ` (${s.skip})` : ''}${where(s)}\n`;
  for (const f of failures) yield `\nFAILED: ${f.name}${where(f)}\n${indent(inspect(f.details?.error, { depth: 4 }))}\n`;
  yield `\n${totals.join(', ')}\n`;
}

/** A test that failed only because a subtest did: the subtest is reported, not this one too. */
/** @param {TestData} d */
function isOnlyChildFailure(d) {
  return d.details?.error?.failureType === 'subtestsFailed';
}

/** @param {TestData} d */
function where(d) {
  return d.file ? `  [${d.file.replace(`${process.cwd()}/`, '')}]` : '';
}

/** @param {string} text */
function indent(text) {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
