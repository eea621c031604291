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
