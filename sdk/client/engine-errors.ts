/**
 * Translation of the engine's errors into the errors Temporal's client throws, where Temporal
 * has a class for the case. Engine errors are recognised by their stable `code`, or by class
 * name for classes that have no code of their own (so the client does not depend on how an
 * engine implementation builds them; an `HttpEngine` rebuilds them from JSON).
 */
import { ERROR_CODES } from '../../engine/protocol/codes.js';
import type { FailureInfo } from '../../engine/protocol/failures.js';
import { fromFailureInfo } from '../workflow/errors.js';
import { ActivityCompletionError, ActivityNotFoundError, QueryNotRegisteredError, WorkflowUpdateRPCTimeoutOrCancelledError } from './errors.js';

interface ErrorFacts {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly failure?: unknown;
  readonly queryType?: unknown;
}

function facts(err: unknown): ErrorFacts {
  return typeof err === 'object' && err !== null ? (err as ErrorFacts) : {};
}

/** True when `err` is the engine error of that class name (or carries that code). */
export function isEngineError(err: unknown, name: string, code?: string): boolean {
  const f = facts(err);
  return f.name === name || (code !== undefined && f.code === code);
}

/**
 * Whether a query failure says "no handler for this query type": Chronicle's sandbox reports
 * the failure type `QueryNotRegistered` (sdk/workflow/runtime/messages.ts); Temporal's
 * reports a `ReferenceError` "Workflow did not register a handler for …". A handler's own
 * error is never mistaken for it, whatever its message says.
 */
function isUnknownQueryFailure(failure: FailureInfo | undefined, err: ErrorFacts): boolean {
  if ((err as { unknownQueryType?: unknown }).unknownQueryType === true) return true;
  if (failure?.type === 'QueryNotRegistered' || failure?.type === 'QueryNotRegisteredError') return true;
  return failure?.type === 'ReferenceError' && /did not register a handler/i.test(failure.message);
}

/**
 * What `handle.query()` throws for an engine error: `QueryNotRegisteredError` when the
 * workflow has no handler for the query type; the engine's `QueryFailedError` (with `cause`
 * set to the handler's failure, rebuilt as its class) when the handler threw; anything else
 * unchanged (WorkflowNotFoundError, QueryTimeoutError, …).
 */
export function queryError(err: unknown): unknown {
  if (!isEngineError(err, 'QueryFailedError', ERROR_CODES.QUERY_FAILED)) return err;
  const f = facts(err);
  const failure = isFailureInfo(f.failure) ? f.failure : undefined;
  const message = typeof f.message === 'string' ? f.message : 'Query failed';
  if (isUnknownQueryFailure(failure, f)) {
    return new QueryNotRegisteredError(message, typeof f.code === 'string' ? f.code : 'QueryNotRegistered', err as Error);
  }
  if (failure !== undefined && (err as Error).cause === undefined) {
    try {
      Object.defineProperty(err, 'cause', { value: fromFailureInfo(failure), configurable: true, writable: true, enumerable: false });
    } catch {
      // A frozen error keeps its shape; the failure is still on `err.failure`.
    }
  }
  return err;
}

/**
 * What an update call throws for an engine error: an abort or a wait that timed out becomes
 * Temporal's `WorkflowUpdateRPCTimeoutOrCancelledError` (the update itself goes on); anything
 * else is unchanged.
 */
export function updateError(err: unknown): unknown {
  if (isEngineError(err, 'AbortError') || isEngineError(err, 'UpdateWaitTimeoutError', ERROR_CODES.UPDATE_WAIT_TIMEOUT)) {
    return new WorkflowUpdateRPCTimeoutOrCancelledError(
      `The client stopped waiting for the update (${String(facts(err).message ?? 'aborted')}); the update itself goes on — ` +
        'call handle.getUpdateHandle(updateId).result() to wait again',
      { cause: err as Error },
    );
  }
  return err;
}

/**
 * What `client.activity.*` throws for an engine error: `ActivityNotFoundError` when the token
 * names no open attempt (`CHR_STALE_TASK`, or the run is gone), the engine's
 * `InvalidArgumentError` family unchanged (a malformed token, a payload JSON cannot carry),
 * and `ActivityCompletionError` for anything else.
 */
export function activityCompletionError(err: unknown, operation: string): unknown {
  const f = facts(err);
  if (f.code === ERROR_CODES.STALE_TASK || f.code === ERROR_CODES.WORKFLOW_NOT_FOUND || f.code === ERROR_CODES.WORKFLOW_NOT_RUNNING) {
    return new ActivityNotFoundError(
      `No open activity attempt has this task token (${operation}): it already completed, failed or timed out, was cancelled, or its workflow run closed`,
      err as Error,
    );
  }
  if (f.code === ERROR_CODES.INVALID_ARGUMENT || f.code === ERROR_CODES.PAYLOAD_NOT_SERIALIZABLE) return err;
  return new ActivityCompletionError(`${operation} failed: ${String(f.message ?? err)}`, err instanceof Error ? err : undefined);
}

function isFailureInfo(value: unknown): value is FailureInfo {
  return typeof value === 'object' && value !== null && typeof (value as FailureInfo).failureType === 'string' && typeof (value as FailureInfo).message === 'string';
}
