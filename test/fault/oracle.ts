/**
 * The oracle: what each fault-test workflow must return, computed without Chronicle. The
 * workflows' results are deterministic functions of their inputs, so any answer other than
 * this one (a lost step, a step applied twice, a stale value) is a bug the test sees.
 *
 * PURE, and imported by the activities too: `stepValue` is the definition of one step.
 */

/** One step of `threeSteps`: step k maps v to 2v + k. Not commutative, so a reordered or repeated step changes the result. */
export function stepValue(k: number, value: number): number {
  return value * 2 + k;
}

/** `threeSteps(n, …)`. */
export function threeStepsResult(n: number): number {
  let v = n;
  for (let k = 1; k <= 3; k++) v = stepValue(k, v);
  return v;
}

/** `slowActivity(ms)`: the slow step returns its input plus 1. */
export function slowActivityResult(ms: number): number {
  return ms + 1;
}

/** `sleepThenStep(ms, n)`: one step (k = 1) after the sleep. */
export function sleepThenStepResult(_ms: number, n: number): number {
  return stepValue(1, n);
}

// ---- generations (continue-as-new.test.ts, F6b) ------------------------------------------

/** Values of the `mix` pipeline stay below this prime (plain doubles, no overflow). */
export const MIX_MODULUS = 1_000_003;

/** Activities `generations` runs in parallel per iteration: items i … i + GENERATION_BATCH - 1. */
export const GENERATION_BATCH = 5;

/** The `mix` activity: item and the value before its batch to a new number. */
export function mixValue(item: number, value: number): number {
  return (value * 31 + item * 7 + 1) % MIX_MODULUS;
}

/** How `generations` folds one batch's results into its value, in item order (order-sensitive). */
export function combineMixes(value: number, results: readonly number[]): number {
  return results.reduce((acc, r) => (acc * 17 + r) % MIX_MODULUS, value);
}

/** The first value of a `generations` chain. */
export const GENERATIONS_START_VALUE = 1;

/**
 * The value of `generations` after `items` items (a multiple of GENERATION_BATCH), however
 * they were spread over runs: a lost, repeated or reordered batch, or state lost at a
 * continue-as-new, gives another number.
 */
export function generationsValue(items: number): number {
  let value = GENERATIONS_START_VALUE;
  for (let first = 0; first < items; first += GENERATION_BATCH) {
    const batch = Array.from({ length: GENERATION_BATCH }, (_, j) => mixValue(first + j, value));
    value = combineMixes(value, batch);
  }
  return value;
}
