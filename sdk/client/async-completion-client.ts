import type { Engine } from '../../engine/engine.js';
import { InvalidArgumentError } from '../../engine/protocol/errors.js';
import { toFailureInfo, type FailureInfo } from '../../engine/protocol/failures.js';
import { activityCompletionError } from './engine-errors.js';
import { ActivityCancelledError } from './errors.js';
import { checkPayload } from './workflow-options.js';

/**
 * An activity attempt's task token: `activityInfo().taskToken` inside the activity.
 *
 * Chronicle's tokens are strings (`a1.<task>.<run>.<lease>`), where Temporal's are
 * `Uint8Array`s. A `Uint8Array` holding a Chronicle token's UTF-8 bytes (as code that stored
 * `Buffer.from(taskToken)` would have) is accepted too.
 */
export type TaskToken = string | Uint8Array;

/**
 * Completes, fails, heartbeats or cancels activities from outside the worker, by task token
 * (Temporal's `AsyncCompletionClient`, `client.activity`). Used for activities that throw
 * `CompleteAsyncError`: the attempt stays open until one of these calls ends it, or until it
 * times out (then it is retried under a new token, and the old one is refused).
 *
 * Temporal's overloads that take `{ workflowId, runId, activityId }` instead of a token are
 * not supported; keep the token.
 *
 * Errors: `ActivityNotFoundError` when the token names no open attempt (completed, failed,
 * timed out, cancelled, or its run closed); `InvalidArgumentError` for a malformed token or a
 * payload JSON cannot carry; `ActivityCompletionError` for anything else.
 *
 * @example
 * ```ts
 * // activity
 * export async function requestApproval(req: Request): Promise<boolean> {
 *   await approvals.enqueue({ ...req, taskToken: activityInfo().taskToken });
 *   throw new CompleteAsyncError();
 * }
 * // later, in the approval service
 * await client.activity.complete(taskToken, true);
 * ```
 */
export class AsyncCompletionClient {
  /** @internal Made by `Client`; use `client.activity`. */
  constructor(
    private readonly engine: Engine,
    private readonly identity: string,
  ) {}

  /** Completes the attempt with `result` (a JSON value), which the workflow's activity call returns. */
  async complete(taskToken: TaskToken, result?: unknown): Promise<void> {
    const token = tokenString(taskToken);
    checkPayload(result, 'result');
    await this.call('complete', () => this.engine.completeActivityTask(token, { result, identity: this.identity }));
  }

  /**
   * Fails the attempt with `err`. The retry policy applies as if the activity had thrown it:
   * a retryable failure schedules another attempt (under a new token), a non-retryable
   * `ApplicationFailure` ends the activity, and the workflow then sees an `ActivityFailure`
   * whose cause is this failure. A plain `Error` becomes a retryable failure of type `err.name`.
   */
  async fail(taskToken: TaskToken, err: unknown): Promise<void> {
    const token = tokenString(taskToken);
    const failure: FailureInfo = toFailureInfo(err ?? new Error('Activity failed'));
    await this.call('fail', () => this.engine.failActivityTask(token, { failure, identity: this.identity }));
  }

  /**
   * Reports that the activity stopped because it was asked to cancel (after `heartbeat`
   * threw `ActivityCancelledError`). Recorded as the activity's cancellation, with `details`;
   * the workflow sees an `ActivityFailure` caused by a `CancelledFailure`. Sent as a failure of
   * type `cancelled`: when no cancellation was requested, the engine treats it as a
   * non-retryable failure.
   */
  async reportCancellation(taskToken: TaskToken, details?: unknown): Promise<void> {
    const token = tokenString(taskToken);
    checkPayload(details, 'details');
    const failure: FailureInfo = { failureType: 'cancelled', message: 'Activity cancelled', ...(details !== undefined ? { details: [details] } : {}) };
    await this.call('reportCancellation', () => this.engine.failActivityTask(token, { failure, identity: this.identity }));
  }

  /**
   * Records a heartbeat for the attempt: keeps it alive under a heartbeat timeout (never past
   * its `startToCloseTimeout`) and stores
   * `details` for the next attempt (`activityInfo().heartbeatDetails`).
   *
   * @throws ActivityCancelledError when the workflow has asked for the activity to be
   *   cancelled (the heartbeat was still recorded): stop, then call `reportCancellation`.
   */
  async heartbeat(taskToken: TaskToken, details?: unknown): Promise<void> {
    const token = tokenString(taskToken);
    checkPayload(details, 'details');
    const response = await this.call('heartbeat', () => this.engine.heartbeatActivityTask(token, details));
    if (response.cancelRequested) throw new ActivityCancelledError('cancelled');
  }

  private async call<R>(operation: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw activityCompletionError(err, operation);
    }
  }
}

/** The string form of a task token; Temporal code may hand over bytes. */
export function tokenString(taskToken: unknown): string {
  if (typeof taskToken === 'string' && taskToken.length > 0) return taskToken;
  if (taskToken instanceof Uint8Array) return new TextDecoder().decode(taskToken);
  if (typeof taskToken === 'object' && taskToken !== null && 'activityId' in taskToken) {
    throw new InvalidArgumentError(
      'taskToken',
      'completing an activity by { workflowId, runId, activityId } is not supported; pass the task token (activityInfo().taskToken) instead',
    );
  }
  throw new InvalidArgumentError('taskToken', `must be the activity's task token (activityInfo().taskToken, a string); got ${taskToken === null ? 'null' : typeof taskToken}`);
}
