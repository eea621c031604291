/**
 * Temporal's option enums for cancellation and parent-close behaviour, as string constants
 * (Temporal's TypeScript SDK spells them the same way). Validators also accept Temporal's
 * older proto-style spellings (`PARENT_CLOSE_POLICY_TERMINATE`); numeric enum values are refused.
 */
import { InvalidArgumentError } from '../../engine/protocol/errors.js';

/**
 * What cancelling a pending activity does (`ActivityOptions.cancellationType`).
 * - `TRY_CANCEL` (default, as sdk-typescript's effective default): asks the engine to cancel
 *   it (RequestCancelActivity) and rejects the call at once with
 *   `ActivityFailure(cause: CancelledFailure)`.
 * - `WAIT_CANCELLATION_COMPLETED`: asks the engine to cancel it and waits until the activity
 *   acknowledges (it learns of it through a heartbeat) or ends; it may still succeed.
 * - `ABANDON`: rejects the call at once and does not tell the activity.
 * Whatever the type, an activity cancelled in the activation that scheduled it is never
 * scheduled (its ScheduleActivity is dropped) and the call rejects at once, as in Temporal.
 */
export const ActivityCancellationType = {
  TRY_CANCEL: 'TRY_CANCEL',
  WAIT_CANCELLATION_COMPLETED: 'WAIT_CANCELLATION_COMPLETED',
  ABANDON: 'ABANDON',
} as const;
export type ActivityCancellationType = (typeof ActivityCancellationType)[keyof typeof ActivityCancellationType];

/**
 * What cancelling a child workflow does (`ChildWorkflowOptions.cancellationType`).
 * - `WAIT_CANCELLATION_COMPLETED` (default): requests the child's cancellation and waits for
 *   the child to close; `result()` then rejects with `ChildWorkflowFailure(cause:
 *   CancelledFailure)` (or settles however the child ended).
 * - `WAIT_CANCELLATION_REQUESTED`: requests it and rejects once the request was delivered.
 * - `TRY_CANCEL`: requests it and rejects at once.
 * - `ABANDON`: rejects at once; the child is not told.
 * Whatever the type, a child cancelled in the activation that started it is never started
 * (its StartChildWorkflow is dropped) and `startChild` rejects with the CancelledFailure.
 */
export const ChildWorkflowCancellationType = {
  ABANDON: 'ABANDON',
  TRY_CANCEL: 'TRY_CANCEL',
  WAIT_CANCELLATION_COMPLETED: 'WAIT_CANCELLATION_COMPLETED',
  WAIT_CANCELLATION_REQUESTED: 'WAIT_CANCELLATION_REQUESTED',
} as const;
export type ChildWorkflowCancellationType = (typeof ChildWorkflowCancellationType)[keyof typeof ChildWorkflowCancellationType];

/**
 * What happens to a running child when its parent run closes (`ChildWorkflowOptions.parentClosePolicy`).
 * - `TERMINATE` (default): the child is terminated.
 * - `REQUEST_CANCEL`: the child's cancellation is requested.
 * - `ABANDON`: the child keeps running.
 * The `PARENT_CLOSE_POLICY_*` keys are Temporal's older spellings of the same values.
 */
export const ParentClosePolicy = {
  TERMINATE: 'TERMINATE',
  ABANDON: 'ABANDON',
  REQUEST_CANCEL: 'REQUEST_CANCEL',
  /** @deprecated use `ParentClosePolicy.TERMINATE` */
  PARENT_CLOSE_POLICY_TERMINATE: 'TERMINATE',
  /** @deprecated use `ParentClosePolicy.ABANDON` */
  PARENT_CLOSE_POLICY_ABANDON: 'ABANDON',
  /** @deprecated use `ParentClosePolicy.REQUEST_CANCEL` */
  PARENT_CLOSE_POLICY_REQUEST_CANCEL: 'REQUEST_CANCEL',
} as const;
export type ParentClosePolicy = (typeof ParentClosePolicy)[keyof typeof ParentClosePolicy];

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], prefix: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string') {
    const name = value.startsWith(prefix) ? value.slice(prefix.length) : value;
    if ((allowed as readonly string[]).includes(name)) return name as T;
  }
  throw new InvalidArgumentError(field, `${JSON.stringify(value)} is not one of ${allowed.map((a) => `'${a}'`).join(', ')} (default '${fallback}')`);
}

/** Validates `ActivityOptions.cancellationType` (default TRY_CANCEL). @throws InvalidArgumentError naming the field. */
export function resolveActivityCancellationType(value: unknown, field = 'cancellationType'): ActivityCancellationType {
  return oneOf(value, field, Object.values(ActivityCancellationType), 'ACTIVITY_CANCELLATION_TYPE_', 'TRY_CANCEL');
}

/** Validates `ChildWorkflowOptions.cancellationType` (default WAIT_CANCELLATION_COMPLETED). @throws InvalidArgumentError naming the field. */
export function resolveChildCancellationType(value: unknown, field = 'cancellationType'): ChildWorkflowCancellationType {
  return oneOf(value, field, Object.values(ChildWorkflowCancellationType), 'CHILD_WORKFLOW_CANCELLATION_TYPE_', 'WAIT_CANCELLATION_COMPLETED');
}

/** Validates `ChildWorkflowOptions.parentClosePolicy` (default TERMINATE; `PARENT_CLOSE_POLICY_*` accepted). @throws InvalidArgumentError naming the field. */
export function resolveParentClosePolicy(value: unknown, field = 'parentClosePolicy'): ParentClosePolicy {
  return oneOf(value, field, ['TERMINATE', 'ABANDON', 'REQUEST_CANCEL'] as const, 'PARENT_CLOSE_POLICY_', 'TERMINATE');
}
