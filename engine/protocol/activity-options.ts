import { formatDuration, parseOptionalDuration, showDuration, type Duration } from './durations.js';
import { InvalidArgumentError } from './errors.js';
import { DEFAULT_PRIORITY, DEFAULT_RETRY, type ActivityScheduleOptions, type ResolvedRetryPolicy } from './retry-policy.js';

/**
 * Activity options as workflow code writes them (`proxyActivities(options)`), with Temporal's
 * names. `resolveActivityOptions` turns them into the `ActivityScheduleOptions` stored in
 * history. PURE: the sandbox and the engine validate with the same function and words.
 */
export interface ActivityOptions {
  /**
   * Longest a single attempt may run. At least one of `startToCloseTimeout` and
   * `scheduleToCloseTimeout` is required; when only the latter is set, it is used for both
   * (as Temporal does). When both are set, an attempt never outlives `scheduleToCloseTimeout`.
   */
  readonly startToCloseTimeout?: Duration;
  /** Bounds all attempts together, retries included. */
  readonly scheduleToCloseTimeout?: Duration;
  /** An attempt that does not heartbeat within this interval times out (and is retried). */
  readonly heartbeatTimeout?: Duration;
  readonly retry?: RetryPolicy;
  /** Chronicle extension: 0–100, higher runs first. Default 50. */
  readonly priority?: number;
  /** Defaults to the workflow's task queue. */
  readonly taskQueue?: string;
}

/** Temporal's retry policy, plus Chronicle's `jitter`. Every field is optional. */
export interface RetryPolicy {
  /** Delay before the first retry. Default 1 s. */
  readonly initialInterval?: Duration;
  /** Multiplier for each further retry, at least 1. Default 2. */
  readonly backoffCoefficient?: number;
  /** Cap on the delay. Default 100 × initialInterval. */
  readonly maximumInterval?: Duration;
  /** Attempts in total, including the first; 0 (or Infinity) means unlimited. Default unlimited. */
  readonly maximumAttempts?: number;
  /** ApplicationFailure types that are never retried. */
  readonly nonRetryableErrorTypes?: readonly string[];
  /**
   * Chronicle extension: each delay is multiplied by a factor drawn from [1 − jitter, 1 + jitter].
   * Default 0.25; 0 turns it off (Temporal does not jitter activity retries).
   */
  readonly jitter?: number;
}

/** The result of resolving: what a ScheduleActivity command carries. */
export interface ResolvedActivityOptions {
  readonly taskQueue?: string;
  readonly options: ActivityScheduleOptions;
}

/**
 * Validates activity options and fills every default. Throws `InvalidArgumentError` naming
 * the field (`retry.maximumInterval`), echoing the bad value and saying how to fix it; it
 * never returns a partially valid result.
 *
 * @param prefix prepended to field names (`'options'` → `options.retry.initialInterval`).
 */
export function resolveActivityOptions(input: ActivityOptions, prefix = ''): ResolvedActivityOptions {
  const f = (name: string): string => (prefix ? `${prefix}.${name}` : name);
  if (typeof input !== 'object' || input === null) {
    throw new InvalidArgumentError(
      prefix || 'options',
      `expected an object of activity options, got ${input === null ? 'null' : typeof input}; pass at least { startToCloseTimeout: '1 minute' }`,
    );
  }

  const startToClose = positive(input.startToCloseTimeout, f('startToCloseTimeout'));
  const scheduleToClose = positive(input.scheduleToCloseTimeout, f('scheduleToCloseTimeout'));
  const heartbeat = positive(input.heartbeatTimeout, f('heartbeatTimeout'));
  if (startToClose === undefined && scheduleToClose === undefined) {
    throw new InvalidArgumentError(
      f('startToCloseTimeout'),
      `either startToCloseTimeout or scheduleToCloseTimeout is required; set startToCloseTimeout to the longest one attempt may run (for example '1 minute')`,
    );
  }

  const retry = resolveRetryPolicy(input.retry, f('retry'));
  const priority = resolvePriority(input.priority, f('priority'));

  let taskQueue: string | undefined;
  if (input.taskQueue !== undefined) {
    if (typeof input.taskQueue !== 'string' || input.taskQueue.trim() === '') {
      throw new InvalidArgumentError(f('taskQueue'), `expected a non-empty string, got ${JSON.stringify(input.taskQueue)}; omit it to use the workflow's task queue`);
    }
    taskQueue = input.taskQueue;
  }

  // Temporal's server does the same: an attempt may not outlive the whole schedule-to-close budget.
  const startToCloseTimeoutMs = Math.min(startToClose ?? Infinity, scheduleToClose ?? Infinity);
  const options: ActivityScheduleOptions = {
    startToCloseTimeoutMs,
    ...(scheduleToClose !== undefined ? { scheduleToCloseTimeoutMs: scheduleToClose } : {}),
    ...(heartbeat !== undefined ? { heartbeatTimeoutMs: heartbeat } : {}),
    retry,
    priority,
  };
  return taskQueue === undefined ? { options } : { taskQueue, options };
}

/** Validates a retry policy (undefined → all defaults). `field` is its path, e.g. `retry`. */
export function resolveRetryPolicy(input: RetryPolicy | undefined, field = 'retry'): ResolvedRetryPolicy {
  const f = (name: string): string => `${field}.${name}`;
  if (input === undefined) input = {};
  if (typeof input !== 'object' || input === null) {
    throw new InvalidArgumentError(field, `expected a retry policy object, got ${input === null ? 'null' : typeof input}; omit it for the defaults`);
  }

  const initialIntervalMs = positive(input.initialInterval, f('initialInterval')) ?? DEFAULT_RETRY.initialIntervalMs;

  const backoffCoefficient = input.backoffCoefficient ?? DEFAULT_RETRY.backoffCoefficient;
  if (typeof backoffCoefficient !== 'number' || !Number.isFinite(backoffCoefficient) || backoffCoefficient < 1) {
    throw new InvalidArgumentError(
      f('backoffCoefficient'),
      `${String(backoffCoefficient)} must be a number of at least 1 (1 retries at a constant interval); use 2 for exponential backoff`,
    );
  }

  let maximumIntervalMs = positive(input.maximumInterval, f('maximumInterval'));
  if (maximumIntervalMs === undefined) {
    maximumIntervalMs = 100 * initialIntervalMs;
  } else if (maximumIntervalMs < initialIntervalMs) {
    const initialShown = input.initialInterval === undefined ? `${formatDuration(initialIntervalMs)}, the default` : showDuration(input.initialInterval);
    throw new InvalidArgumentError(
      f('maximumInterval'),
      `${showDuration(input.maximumInterval)} cannot be less than ${f('initialInterval')} (${initialShown}); raise maximumInterval or lower initialInterval`,
    );
  }

  let maximumAttempts = input.maximumAttempts ?? DEFAULT_RETRY.maximumAttempts;
  if (maximumAttempts === Number.POSITIVE_INFINITY) maximumAttempts = 0; // Temporal accepts Infinity for "unlimited"
  if (typeof maximumAttempts !== 'number' || !Number.isInteger(maximumAttempts) || maximumAttempts < 0) {
    throw new InvalidArgumentError(
      f('maximumAttempts'),
      `${String(maximumAttempts)} must be a non-negative integer: the number of attempts including the first, or 0 for unlimited`,
    );
  }

  const types = input.nonRetryableErrorTypes ?? [];
  if (!Array.isArray(types) || types.some((t) => typeof t !== 'string')) {
    throw new InvalidArgumentError(f('nonRetryableErrorTypes'), `expected an array of error type names (strings), got ${JSON.stringify(types)}`);
  }

  const jitter = input.jitter ?? DEFAULT_RETRY.jitter;
  if (typeof jitter !== 'number' || !Number.isFinite(jitter) || jitter < 0 || jitter > 1) {
    throw new InvalidArgumentError(f('jitter'), `${String(jitter)} must be a fraction from 0 to 1 (0.25 means ±25 %; 0 turns jitter off)`);
  }

  return { initialIntervalMs, backoffCoefficient, maximumIntervalMs, maximumAttempts, nonRetryableErrorTypes: [...types], jitter };
}

function resolvePriority(value: unknown, field: string): number {
  if (value === undefined) return DEFAULT_PRIORITY;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 100) {
    throw new InvalidArgumentError(field, `${String(value)} must be an integer from 0 to 100 (higher runs first; default ${DEFAULT_PRIORITY})`);
  }
  return value;
}

/** A duration that must be > 0 when set. */
function positive(value: unknown, field: string): number | undefined {
  const ms = parseOptionalDuration(value, field);
  if (ms !== undefined && ms <= 0) {
    throw new InvalidArgumentError(field, `${showDuration(value)} must be a positive duration, for example '1s' or 1000`);
  }
  return ms;
}
