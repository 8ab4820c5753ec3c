/**
 * The fuzz suites' harness (test/fuzz/): properties run with fast-check under one seed per run,
 * every parser call timed (a parser that loops shows up as a slow case, and the test's own timeout
 * catches a real hang), and one expected error class the only exception allowed.
 *
 * The seed is new on every run and printed on failure; `FUZZ_SEED=<n>` replays a run,
 * `FUZZ_RUNS=<x>` multiplies every case count (a longer hunt:
 * `FUZZ_RUNS=20 node --import tsx --test test/fuzz/*.test.ts`).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';

export const SEED = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
const SCALE = Number(process.env['FUZZ_RUNS'] ?? 1) || 1;
/** A single parser call slower than this is treated as a hang (generous: GC pauses, a busy CI). */
const CASE_LIMIT_MS = 1000;

export const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

interface Ctx {
  diagnostic(msg: string): void;
}

/** Run a property with this run's seed; on failure say how to replay it. */
export function check<Ts>(t: Ctx, name: string, prop: fc.IRawProperty<Ts>, numRuns: number): void {
  const n = runs(numRuns);
  const t0 = performance.now();
  const slowest = { ms: 0 };
  current = slowest;
  try {
    fc.assert(prop, { seed: SEED, numRuns: n });
  } catch (e) {
    const cause = (e as Error).cause;
    const why = cause instanceof Error ? `\nCause: ${cause.stack ?? cause.message}` : '';
    throw new Error(`${name}: property failed. Replay with FUZZ_SEED=${SEED}\n${(e as Error).message}${why}`);
  } finally {
    current = undefined;
  }
  const slow = slowest.ms > 0 ? `, slowest timed call ${slowest.ms.toFixed(2)} ms` : '';
  t.diagnostic(`${name}: ${n} cases in ${(performance.now() - t0).toFixed(0)} ms${slow} (seed ${SEED})`);
}

let current: { ms: number } | undefined;

/** Time one parser call; a case over CASE_LIMIT_MS fails as a hang. */
export function timed<T>(what: string, f: () => T, limitMs = CASE_LIMIT_MS): T {
  const t0 = performance.now();
  try {
    return f();
  } finally {
    const ms = performance.now() - t0;
    if (current && ms > current.ms) current.ms = ms;
    if (ms > limitMs) assert.fail(`${what} took ${ms.toFixed(1)} ms (limit ${limitMs} ms): a hang or a quadratic path`);
  }
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Call `f`; the only exception allowed is `E` (anything else fails the property with its stack). */
export function only<T>(E: abstract new (...args: never[]) => Error, what: string, f: () => T, limitMs?: number): Outcome<T> {
  try {
    return { ok: true, value: timed(what, f, limitMs) };
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    if (e instanceof E) return { ok: false, error: e };
    assert.fail(`${what} threw ${(e as Error)?.name ?? typeof e} instead of ${E.name}: ${(e as Error)?.stack ?? String(e)}`);
  }
}

export const b = (s: string) => Buffer.from(s, 'latin1');

export const anyBytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u));
export const bytesFrom = (s: string) => Buffer.from(s, 'latin1');
/** A random 20-byte string (an info_hash or a peer_id). */
export const raw20 = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => Buffer.from(u));

export const integer = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER));

/** Byte-level mutations: flips, truncations, insertions of bencode-ish tokens, deletions, copies. */
export type Mutation =
  | { k: 'flip'; at: number; v: number }
  | { k: 'truncate'; at: number }
  | { k: 'insert'; at: number; bytes: Buffer }
  | { k: 'delete'; at: number; n: number }
  | { k: 'copy'; from: number; n: number; to: number };

export const TOKENS = ['l', 'd', 'e', 'i', '-', '0', '9', ':', 'i-0e', 'i00e', 'i-e', '99999999999:', '9007199254740993:', '4:ab', 'le', 'de', '0:', '1:', '__proto__', 'l'.repeat(120)];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(anyBytes(8), fc.constantFrom(...TOKENS).map(bytesFrom)) }),
  fc.record({ k: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ k: fc.constant('copy' as const), from: fc.nat(), n: fc.integer({ min: 1, max: 64 }), to: fc.nat() }),
);

export function mutate(input: Buffer, ms: Mutation[]): Buffer {
  let x = Buffer.from(input);
  for (const m of ms) {
    const pos = (p: number) => (x.length === 0 ? 0 : p % (x.length + 1));
    switch (m.k) {
      case 'flip':
        if (x.length) x[m.at % x.length] = m.v;
        break;
      case 'truncate':
        x = x.subarray(0, pos(m.at));
        break;
      case 'insert': {
        const at = pos(m.at);
        x = Buffer.concat([x.subarray(0, at), m.bytes, x.subarray(at)]);
        break;
      }
      case 'delete': {
        const at = pos(m.at);
        x = Buffer.concat([x.subarray(0, at), x.subarray(at + m.n)]);
        break;
      }
      case 'copy': {
        const from = pos(m.from);
        const at = pos(m.to);
        x = Buffer.concat([x.subarray(0, at), x.subarray(from, from + m.n), x.subarray(at)]);
        break;
      }
    }
  }
  return x;
}

export const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

/** Strings made of the characters that matter to a query parser, plus anything at all. */
export const queryish = fc.oneof(
  fc.string({ unit: fc.constantFrom('%', '&', '=', '+', 'a', 'F', 'f', '0', '9', 'g', 'G', '\x00', '\xff', '\u0100', '\ud800', ' ', '#', '?'), maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);
