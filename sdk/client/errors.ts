import type { RetryState } from '../../engine/protocol/index.js';

/**
 * Thrown by `handle.result()` (and `execute`) when the run did not complete: it failed,
 * was cancelled, terminated or timed out. `cause` is the failure as the workflow raised it
 * (ApplicationFailure, ActivityFailure with its own cause, CancelledFailure,
 * TerminatedFailure), rebuilt with its whole chain. Temporal's class and shape.
 */
export class WorkflowFailedError extends Error {
  override readonly cause: Error;
  readonly retryState: RetryState;
  constructor(message: string, cause: Error, retryState: RetryState = 'NON_RETRYABLE_FAILURE') {
    super(message, { cause });
    this.cause = cause;
    this.retryState = retryState;
  }
  override get name(): string {
    return 'WorkflowFailedError';
  }
}
