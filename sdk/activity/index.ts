/**
 * `chronicle/activity`: what activity code imports. Names and behaviour follow Temporal's
 * `@temporalio/activity`, so moving an activity over means changing the import.
 *
 * Every function here reads the current activity's context (AsyncLocalStorage) and throws a
 * `CHR_NOT_IN_ACTIVITY_CONTEXT` ChronicleError when called outside an activity.
 *
 * @example
 * ```ts
 * import { activityInfo, heartbeat, sleep, ApplicationFailure } from 'chronicle/activity';
 *
 * export async function waitForPayment(orderId: string): Promise<string> {
 *   for (let polls = (activityInfo().heartbeatDetails as number | undefined) ?? 0; ; polls++) {
 *     const status = await lookUp(orderId);
 *     if (status === 'paid') return status;
 *     if (status === 'rejected') throw ApplicationFailure.nonRetryable(`order ${orderId} rejected`);
 *     heartbeat(polls);
 *     await sleep('10s'); // rejects with CancelledFailure when the workflow cancels the activity
 *   }
 * }
 * ```
 */
import type { Duration } from '../../engine/protocol/durations.js';
import { Context, type ActivityInfo, type LogAttributes, type Logger } from './context.js';

export { Context };
export type { ActivityInfo, Duration, LogAttributes, Logger };
export { ApplicationFailure, CancelledFailure } from '../workflow/errors.js';

/** The current attempt's `ActivityInfo`: `Context.current().info`. */
export function activityInfo(): ActivityInfo {
  return Context.current().info;
}

/**
 * Records a heartbeat with optional progress `details` (a JSON value): `Context.current().heartbeat`.
 * Keeps the attempt alive under a heartbeat timeout, hands `details` to the next attempt, and
 * is how a cancel request reaches the activity.
 */
export function heartbeat(details?: unknown): void {
  Context.current().heartbeat(details);
}

/**
 * Waits `ms` (milliseconds, or a string like `'5s'`), rejecting with `CancelledFailure` if the
 * activity is cancelled first: `Context.current().sleep`.
 */
export function sleep(ms: Duration): Promise<void> {
  return Context.current().sleep(ms);
}

/** The AbortSignal aborted when the activity is cancelled: `Context.current().cancellationSignal`. */
export function cancellationSignal(): AbortSignal {
  return Context.current().cancellationSignal;
}

/** A promise that rejects with `CancelledFailure` when the activity is cancelled: `Context.current().cancelled`. */
export function cancelled(): Promise<never> {
  return Context.current().cancelled;
}

/**
 * The current activity's logger (`Context.current().log`): messages are prefixed with the
 * activity type and attempt. Safe to import at module level; each call finds the context.
 */
export const log: Logger = Object.freeze({
  debug: (message: string, attributes?: LogAttributes) => Context.current().log.debug(message, attributes),
  info: (message: string, attributes?: LogAttributes) => Context.current().log.info(message, attributes),
  warn: (message: string, attributes?: LogAttributes) => Context.current().log.warn(message, attributes),
  error: (message: string, attributes?: LogAttributes) => Context.current().log.error(message, attributes),
});

const COMPLETE_ASYNC_BRAND = Symbol.for('chronicle.CompleteAsyncError');

/**
 * Throw this from an activity to say "the result will come later": the attempt is neither
 * completed nor failed, and stays open until something completes it by its task token
 * (`activityInfo().taskToken`) through `client.activity.complete(taskToken, result)`, `fail`
 * or `reportCancellation`, or until it times out and is retried (SEMANTICS item 17). Set a
 * `startToCloseTimeout` long enough for the outside completion to arrive: it bounds the
 * attempt whatever happens. A `heartbeatTimeout` only shortens that bound (the attempt then
 * also ends when `client.activity.heartbeat(taskToken)` is not called often enough); no
 * heartbeat extends an attempt past its `startToCloseTimeout`.
 *
 * `instanceof` works across copies of this module (the worker's and the activity's), through
 * a registered-symbol brand, and `name` is always `'CompleteAsyncError'`, even after a
 * bundler renames the class.
 *
 * @example
 * ```ts
 * export async function requestApproval(request: Approval): Promise<boolean> {
 *   await approvals.notify({ ...request, taskToken: activityInfo().taskToken });
 *   throw new CompleteAsyncError(); // the approval service completes the activity later
 * }
 *
 * // in the approval service, any process with a client:
 * await client.activity.complete(taskToken, true);
 * ```
 */
export class CompleteAsyncError extends Error {
  constructor() {
    super(
      'The activity will be completed asynchronously by its task token; it stays open until completed that way or until it times out',
    );
    Object.defineProperty(this, COMPLETE_ASYNC_BRAND, { value: true });
  }

  override get name(): string {
    return 'CompleteAsyncError';
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== CompleteAsyncError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[COMPLETE_ASYNC_BRAND] === true;
  }
}
