/**
 * The errors the client throws that are not `ChronicleError`s: Temporal's client error
 * classes, with Temporal's names, constructor arguments and fields, so `catch` blocks written
 * for `@temporalio/client` keep working after the import changes.
 *
 * `instanceof` answers by a registry-wide symbol (`Symbol.for('chronicle.error.<Name>')`), with
 * the `brand` of the failure classes in `sdk/workflow/errors.ts`, so an error built by a second copy of
 * this module (two installed versions, a bundled copy) still matches. Subclasses defined by
 * users fall back to the ordinary prototype check.
 */
import type { RetryState } from '../../engine/protocol/index.js';
import { brand } from '../workflow/errors.js';
import type { WorkflowExecutionStatusName } from './execution-info.js';

/**
 * Thrown by `handle.result()` and `client.workflow.execute()` when the run did not complete.
 * `cause` says how it ended, as Temporal's client reports it:
 *
 * | the run                    | `cause`                                                   | `retryState`            |
 * | -------------------------- | --------------------------------------------------------- | ----------------------- |
 * | failed                     | the failure it raised, rebuilt with its whole chain        | `NON_RETRYABLE_FAILURE` |
 * | was cancelled              | `CancelledFailure('Workflow canceled')` with its details  | `NON_RETRYABLE_FAILURE` |
 * | was terminated             | `TerminatedFailure(reason)`                               | `NON_RETRYABLE_FAILURE` |
 * | timed out                  | `TimeoutFailure` (`WORKFLOW_EXECUTION_TIMEOUT` or `…RUN…`) | as the run recorded it  |
 *
 * @example
 * ```ts
 * try {
 *   await handle.result();
 * } catch (err) {
 *   if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
 *     console.log(err.cause.type, err.cause.details);
 *   }
 * }
 * ```
 */
export class WorkflowFailedError extends Error {
  /** How the run ended: ApplicationFailure, ActivityFailure, CancelledFailure, TerminatedFailure, TimeoutFailure, … */
  override readonly cause: Error | undefined;
  /** Why no further attempt follows (Chronicle has no workflow retries, so never IN_PROGRESS). */
  readonly retryState: RetryState;

  constructor(message: string, cause: Error | undefined, retryState: RetryState) {
    super(message, cause === undefined ? undefined : { cause });
    this.cause = cause;
    this.retryState = retryState;
  }
}
brand(WorkflowFailedError, 'WorkflowFailedError');

/**
 * Thrown by `executeUpdate()` and `updateHandle.result()` when the update did not succeed:
 * its validator rejected it (nothing was written to the history), its handler threw a
 * `TemporalFailure` such as `ApplicationFailure` (the run goes on), or the run closed before
 * the handler finished (`cause.type` is `'AcceptedUpdateCompletedWorkflow'`). `cause` is the
 * failure, rebuilt as its class.
 */
export class WorkflowUpdateFailedError extends Error {
  override readonly cause: Error | undefined;

  constructor(message: string, cause: Error | undefined) {
    super(message, cause === undefined ? undefined : { cause });
    this.cause = cause;
  }
}
brand(WorkflowUpdateFailedError, 'WorkflowUpdateFailedError');

/**
 * The client stopped waiting for an update: the call's `signal` aborted or its wait timed
 * out. The update itself is not cancelled; get its outcome later with
 * `handle.getUpdateHandle(updateId).result()`.
 */
export class WorkflowUpdateRPCTimeoutOrCancelledError extends Error {
  override readonly cause: Error | undefined;

  constructor(message: string, opts?: { readonly cause?: Error }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.cause = opts?.cause;
  }
}
brand(WorkflowUpdateRPCTimeoutOrCancelledError, 'WorkflowUpdateRPCTimeoutOrCancelledError');

/**
 * Thrown by `handle.result()` when the run continued as new and the handle was made with
 * `followRuns: false`. `newExecutionRunId` is the run that took over; by default
 * (`followRuns: true`) `result()` follows the chain instead and returns the last run's result.
 */
export class WorkflowContinuedAsNewError extends Error {
  readonly newExecutionRunId: string;

  constructor(message: string, newExecutionRunId: string) {
    super(message);
    this.newExecutionRunId = newExecutionRunId;
  }
}
brand(WorkflowContinuedAsNewError, 'WorkflowContinuedAsNewError');

/**
 * The query was not run because of the client's `queryRejectCondition`: `NOT_OPEN` rejects
 * queries to closed runs, `NOT_COMPLETED_CLEANLY` those to runs that closed any way other
 * than COMPLETED. `status` is the run's status name (Temporal gives the protobuf enum
 * number here; Chronicle has no protobuf, so it gives the name, e.g. `'FAILED'`).
 */
export class QueryRejectedError extends Error {
  readonly status: WorkflowExecutionStatusName;

  constructor(status: WorkflowExecutionStatusName) {
    super(`Query rejected: the run is ${status}`);
    this.status = status;
  }
}
brand(QueryRejectedError, 'QueryRejectedError');

/**
 * The workflow has no handler for that query type (after its first workflow task, when
 * handlers registered at start-up exist). The message lists the query types it does know.
 *
 * Temporal's client also throws this class when a query handler *threw*, because its server
 * answers both with the same gRPC status. Chronicle tells them apart: a throwing handler
 * gives a `QueryFailedError` whose `cause` is the handler's failure.
 */
export class QueryNotRegisteredError extends Error {
  /** Temporal carries the gRPC status code here; Chronicle carries the engine's error code. */
  readonly code: string;
  override readonly cause: Error | undefined;

  constructor(message: string, code: string, cause?: Error) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.cause = cause;
  }
}
brand(QueryNotRegisteredError, 'QueryNotRegisteredError');

/**
 * `client.activity.complete/fail/heartbeat/reportCancellation`: the task token names no open
 * attempt. The attempt already completed or failed, timed out (and may have been retried
 * under a new token), was cancelled, or its run closed. `cause` is the engine's
 * `StaleTaskError` (code `CHR_STALE_TASK`).
 */
export class ActivityNotFoundError extends Error {
  override readonly cause: Error | undefined;

  constructor(message: string, cause?: Error) {
    super(message, cause === undefined ? undefined : { cause });
    this.cause = cause;
  }
}
brand(ActivityNotFoundError, 'ActivityNotFoundError');

/** `client.activity.*` failed for another reason than an unknown attempt; `cause` is the engine's error. */
export class ActivityCompletionError extends Error {
  override readonly cause: Error | undefined;

  constructor(message: string, cause?: Error) {
    super(message, cause === undefined ? undefined : { cause });
    this.cause = cause;
  }
}
brand(ActivityCompletionError, 'ActivityCompletionError');

/**
 * Thrown by `client.activity.heartbeat(taskToken)` when the workflow asked for the activity to
 * be cancelled: stop the work and call `client.activity.reportCancellation(taskToken)`. The
 * heartbeat itself was recorded.
 */
export class ActivityCancelledError extends Error {}
brand(ActivityCancelledError, 'ActivityCancelledError');
