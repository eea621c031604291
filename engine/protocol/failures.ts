/**
 * The serialized shape of a failure, as stored in history and sent between worker,
 * engine and client. Error classes (ApplicationFailure, ActivityFailure, ...) are built
 * from and turned into this shape by the SDK; only this plain object crosses a process or
 * sandbox boundary.
 */
export interface FailureInfo {
  /** Which failure class this is; decides which error class the SDK rebuilds. */
  readonly failureType: FailureType;
  readonly message: string;
  /** ApplicationFailure type, or the error's `name` for plain errors (`Error`, `TypeError`). */
  readonly type?: string;
  readonly stack?: string;
  /** An ApplicationFailure marked non-retryable gets exactly one attempt. */
  readonly nonRetryable?: boolean;
  readonly details?: readonly unknown[];
  readonly cause?: FailureInfo;
  /** Set when failureType is 'activity'. */
  readonly activity?: {
    readonly activityType: string;
    readonly activityId: string;
    readonly retryState: RetryState;
  };
  /** Set when failureType is 'childWorkflow'. */
  readonly childWorkflow?: {
    readonly namespace: string;
    readonly workflowId: string;
    readonly runId: string;
    readonly workflowType: string;
    readonly retryState: RetryState;
  };
  /** Set when failureType is 'timeout'. */
  readonly timeoutType?: TimeoutType;
}

export type FailureType =
  | 'application'
  | 'activity'
  | 'childWorkflow'
  | 'cancelled'
  | 'terminated'
  | 'timeout'
  | 'server';

/** Why retrying stopped, with Temporal's names. */
export type RetryState =
  | 'IN_PROGRESS'
  | 'NON_RETRYABLE_FAILURE'
  | 'TIMEOUT'
  | 'MAXIMUM_ATTEMPTS_REACHED'
  | 'RETRY_POLICY_NOT_SET'
  | 'CANCEL_REQUESTED'
  | 'UNSPECIFIED';

export type TimeoutType = 'START_TO_CLOSE' | 'SCHEDULE_TO_CLOSE' | 'SCHEDULE_TO_START' | 'HEARTBEAT' | 'WORKFLOW_EXECUTION_TIMEOUT' | 'WORKFLOW_RUN_TIMEOUT';

/** Builds a FailureInfo from any thrown value; keeps the `cause` chain. Pure. */
export function toFailureInfo(err: unknown, depth = 0): FailureInfo {
  if (isFailureInfoCarrier(err)) return err.toFailureInfo(depth);
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err)) {
    const e = err as Error & { cause?: unknown };
    return {
      failureType: 'application',
      message: String(e.message),
      type: e.name || 'Error',
      stack: e.stack,
      cause: e.cause !== undefined && depth < 20 ? toFailureInfo(e.cause, depth + 1) : undefined,
    };
  }
  return { failureType: 'application', message: String(err), type: 'Error' };
}

/** SDK error classes implement this so their extra fields survive serialization. */
export interface FailureInfoCarrier {
  toFailureInfo(depth: number): FailureInfo;
}

function isFailureInfoCarrier(err: unknown): err is FailureInfoCarrier {
  return typeof err === 'object' && err !== null && typeof (err as FailureInfoCarrier).toFailureInfo === 'function';
}
