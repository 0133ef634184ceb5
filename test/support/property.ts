import type { TestContext } from "node:test";

/** The seed of every property test unless FUZZ_SEED gives another. */
const DEFAULT_SEED = 20261202;

export interface PropertyParameters {
  seed: number;
  numRuns: number;
}

function integerFrom(name: string, fallback: number, min: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min)
    throw new Error(`${name} must be an integer from ${min} on: ${text}`);
  return value;
}

/**
 * fast-check's parameters for a property test: a fixed seed, so that a run can be repeated
 * (`FUZZ_SEED` picks another), and `runs` runs unless `FUZZ_RUNS` says how many. The seed is
 * reported with the test; a failure's message adds the path of the failing case to it.
 */
export function propertyParameters(t: TestContext, runs: number): PropertyParameters {
  const seed = integerFrom("FUZZ_SEED", DEFAULT_SEED, -(2 ** 31));
  const numRuns = integerFrom("FUZZ_RUNS", runs, 1);
  t.diagnostic(`fast-check seed ${seed}, ${numRuns} runs (FUZZ_SEED=${seed} repeats them)`);
  return { seed, numRuns };
}
