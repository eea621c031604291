/**
 * Retry math for activity attempts: how long to wait after a failed attempt, and whether to
 * retry at all. PURE: no I/O, no clock, no global randomness. The caller passes `now` and a
 * random source, so the same inputs always give the same decision; that makes the rules
 * table-testable and lets chaos tests replay a failure schedule from a seed.
 *
 * The rules are Temporal's (server `getBackoffInterval` / `isRetryable`), checked in its
 * order: retryable at all? → attempts left? → does the next backoff fit before the
 * schedule-to-close deadline? The one deliberate difference is jitter (see `jitteredDelayMs`).
 *
 * The policy is a `ResolvedRetryPolicy`: validated and defaulted where the workflow scheduled
 * the activity, so nothing here re-validates it.
 */
import { InvalidArgumentError } from './protocol/errors.js';
import type { FailureInfo, RetryState, TimeoutType } from './protocol/failures.js';
import type { ResolvedRetryPolicy } from './protocol/retry-policy.js';

/**
 * Temporal's spelling of a timeout in `nonRetryableErrorTypes`: `TemporalTimeout:StartToClose`,
 * `TemporalTimeout:Heartbeat`. Accepted so retry policies move from Temporal unchanged.
 */
export const TEMPORAL_TIMEOUT_TYPE_PREFIX = 'TemporalTimeout:';

const TEMPORAL_TIMEOUT_NAMES: { readonly [K in TimeoutType]: string } = {
  START_TO_CLOSE: 'StartToClose',
  SCHEDULE_TO_CLOSE: 'ScheduleToClose',
  SCHEDULE_TO_START: 'ScheduleToStart',
  HEARTBEAT: 'Heartbeat',
  WORKFLOW_EXECUTION_TIMEOUT: 'WorkflowExecution',
  WORKFLOW_RUN_TIMEOUT: 'WorkflowRun',
};

/**
 * The backoff after failed attempt `attempt` (1-based), before jitter:
 * `min(maximumIntervalMs, initialIntervalMs × backoffCoefficient^(attempt − 1))`.
 * With Temporal's defaults that is 1 s, 2 s, 4 s, … capped at 100 s. Not rounded: a
 * coefficient such as 1.5 can give a fractional value; `jitteredDelayMs` rounds.
 *
 * Exponent overflow is harmless: `2^5000` is `Infinity`, and the cap wins.
 *
 * @throws InvalidArgumentError when `attempt` is not an integer ≥ 1.
 */
export function nominalDelayMs(policy: ResolvedRetryPolicy, attempt: number): number {
  assertAttempt(attempt);
  const raw = policy.initialIntervalMs * Math.pow(policy.backoffCoefficient, attempt - 1);
  return Math.min(policy.maximumIntervalMs, raw);
}

/**
 * The backoff actually used: `nominalDelayMs × U[1 − jitter, 1 + jitter]`, rounded to whole
 * milliseconds and never negative. `random` must return values in [0, 1), like Math.random.
 *
 * Why Chronicle jitters and Temporal does not: Temporal's matching service hands retries out
 * from its own queues, while Chronicle's retries are rows that every worker claims from one
 * table. When a downstream outage fails many activities at once, unjittered backoff brings all
 * of them back in the same millisecond, again and again (the thundering herd); a uniform
 * factor spreads each wave over ±jitter of the delay. The factor has mean 1, so the expected
 * delay, and therefore the expected total retry time, equals Temporal's. Set `jitter: 0` for
 * Temporal's exact schedule; then `random` is not called at all.
 *
 * A delay already capped at `maximumIntervalMs` is jittered too, so it may exceed the cap by
 * up to `jitter × maximumIntervalMs`: capping after jitter would collapse the spread exactly
 * when most retries are waiting at the cap.
 */
export function jitteredDelayMs(policy: ResolvedRetryPolicy, attempt: number, random: () => number): number {
  const nominal = nominalDelayMs(policy, attempt);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  if (jitter === 0) return Math.round(nominal);
  const factor = 1 - jitter + 2 * jitter * random();
  return Math.max(0, Math.round(nominal * factor));
}

export interface RetryInput {
  readonly policy: ResolvedRetryPolicy;
  /** The attempt that just failed, 1-based. */
  readonly attempt: number;
  /** Why it failed. */
  readonly failure: FailureInfo;
  /** Current time, ms since epoch (database time, like the deadline). */
  readonly now: number;
  /** `scheduledAt + scheduleToCloseTimeoutMs`, when the activity has that timeout. */
  readonly scheduleToCloseDeadline?: number;
  /** Source of uniform values in [0, 1) for jitter; `seededRandom(seed)` in tests. */
  readonly random: () => number;
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number; readonly nextAttempt: number }
  | { readonly retry: false; readonly retryState: RetryState };

/**
 * Decides what follows a failed attempt, with Temporal's rules in Temporal's order:
 *
 * 1. A SCHEDULE_TO_CLOSE (or SCHEDULE_TO_START) timeout → `TIMEOUT`: that timeout bounds all
 *    attempts, so no retry can fit; Temporal's server never retries it either and reports
 *    TIMEOUT whatever the policy lists.
 * 2. Not retryable → `NON_RETRYABLE_FAILURE` (see `isRetryableFailure`). Checked before the
 *    attempt count so a non-retryable failure reports why it stopped even on the last
 *    allowed attempt.
 * 3. `maximumAttempts > 0` and `attempt ≥ maximumAttempts` → `MAXIMUM_ATTEMPTS_REACHED`.
 *    `maximumAttempts: 0` means unlimited.
 * 4. With a schedule-to-close deadline, `now + delay ≥ deadline` → `TIMEOUT`: the next
 *    attempt would start with no time left, so stop now and report the timeout instead of
 *    sleeping until it. (Temporal stops only when strictly after; at equality the retry could
 *    not run for even a millisecond, so Chronicle stops there too.) The jittered delay is the
 *    one compared, because it is the one that would be scheduled.
 *
 * Otherwise retry after `delayMs` as attempt `attempt + 1`.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { policy, attempt, failure, now, scheduleToCloseDeadline, random } = input;
  assertAttempt(attempt);
  if (failure.failureType === 'timeout' && (failure.timeoutType === 'SCHEDULE_TO_CLOSE' || failure.timeoutType === 'SCHEDULE_TO_START')) {
    return { retry: false, retryState: 'TIMEOUT' };
  }
  if (!isRetryableFailure(failure, policy.nonRetryableErrorTypes)) {
    return { retry: false, retryState: 'NON_RETRYABLE_FAILURE' };
  }
  if (policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts) {
    return { retry: false, retryState: 'MAXIMUM_ATTEMPTS_REACHED' };
  }
  const delayMs = jitteredDelayMs(policy, attempt, random);
  if (scheduleToCloseDeadline !== undefined && now + delayMs >= scheduleToCloseDeadline) {
    return { retry: false, retryState: 'TIMEOUT' };
  }
  return { retry: true, delayMs, nextAttempt: attempt + 1 };
}

/**
 * Whether a failure may be retried at all, before counting attempts or time:
 *
 * - `nonRetryable: true` (ApplicationFailure.nonRetryable) → no: the activity said so.
 * - cancelled and terminated failures → no: someone chose to stop the work (Temporal's rule).
 * - timeouts → yes (a lost worker or a missed heartbeat is exactly what retries are for),
 *   unless the policy lists the timeout: by Chronicle's name (`START_TO_CLOSE`,
 *   `HEARTBEAT`) or by Temporal's (`TemporalTimeout:StartToClose`, `TemporalTimeout:Heartbeat`).
 * - anything else → yes, unless its `type` (the ApplicationFailure type, or the error's name
 *   such as `TypeError`) is listed in `nonRetryableErrorTypes`. Matching is exact, as in
 *   Temporal: no subclass or prefix matching.
 */
export function isRetryableFailure(failure: FailureInfo, nonRetryableErrorTypes: readonly string[]): boolean {
  if (failure.nonRetryable) return false;
  if (failure.failureType === 'cancelled' || failure.failureType === 'terminated') return false;
  const names: string[] = [];
  if (failure.type !== undefined) names.push(failure.type);
  if (failure.failureType === 'timeout' && failure.timeoutType !== undefined) {
    names.push(failure.timeoutType, TEMPORAL_TIMEOUT_TYPE_PREFIX + TEMPORAL_TIMEOUT_NAMES[failure.timeoutType]);
  }
  return !names.some((n) => nonRetryableErrorTypes.includes(n));
}

/**
 * A small deterministic PRNG (mulberry32: one 32-bit state word, period 2^32) returning
 * uniform values in [0, 1). For tests and reproducible chaos runs only; it is not
 * cryptographic. The seed is taken modulo 2^32 (fractions dropped), so `seededRandom(1)` and
 * `seededRandom(2 ** 32 + 1)` give the same sequence.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    // Weyl step: an odd increment visits every 32-bit state once per period.
    state = (state + 0x6d2b79f5) >>> 0;
    // Output mixing: xor-shifts and odd multiplies so neighbouring states (and seeds)
    // give unrelated outputs.
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    z ^= z >>> 14;
    return (z >>> 0) / 0x1_0000_0000;
  };
}

function assertAttempt(attempt: number): void {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new InvalidArgumentError('attempt', `should be an integer ≥ 1 (attempts are numbered from 1), instead got '${attempt}'`);
  }
}
