/**
 * Retry policy as stored in history: every duration resolved to milliseconds, every
 * default filled in, so the engine never needs to guess what the workflow meant.
 */
export interface ResolvedRetryPolicy {
  readonly initialIntervalMs: number;
  readonly backoffCoefficient: number;
  readonly maximumIntervalMs: number;
  /** 0 means unlimited, as in Temporal. */
  readonly maximumAttempts: number;
  readonly nonRetryableErrorTypes: readonly string[];
  /**
   * Jitter as a fraction: each delay is multiplied by a factor drawn uniformly from
   * [1 - jitter, 1 + jitter]. 0 disables. Chronicle's default is 0.25; Temporal has none.
   */
  readonly jitter: number;
}

export const DEFAULT_RETRY = {
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maximumAttempts: 0,
  jitter: 0.25,
} as const;

/** Options an activity call carries in its ScheduleActivity command. */
export interface ActivityScheduleOptions {
  readonly startToCloseTimeoutMs: number;
  /** Bounds all attempts together; retrying stops when the next backoff would cross it. */
  readonly scheduleToCloseTimeoutMs?: number;
  /** When set, the lease is `min(start + startToClose, lastHeartbeat + heartbeatTimeout)`. */
  readonly heartbeatTimeoutMs?: number;
  readonly retry: ResolvedRetryPolicy;
  /** 0–100, higher runs first. Default 50. */
  readonly priority: number;
}

export const DEFAULT_PRIORITY = 50;
