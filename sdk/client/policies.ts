/**
 * Temporal's enum-like option values for starting workflows and waiting for updates, and the
 * functions that turn what a caller wrote into the engine's names.
 *
 * Temporal's TypeScript SDK spells these as string constants (`WorkflowIdReusePolicy.ALLOW_DUPLICATE`)
 * and, in older releases, as the protobuf names (`WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE`)
 * or numbers. All three are accepted, so code written for any release moves over unchanged.
 * PURE: no I/O.
 */
import type {
  UpdateStage,
  WorkflowIdConflictPolicy as EngineConflictPolicy,
  WorkflowIdReusePolicy as EngineReusePolicy,
} from '../../engine/engine.js';
import { InvalidArgumentError } from '../../engine/protocol/errors.js';

/**
 * Whether a workflow id may be used again once its previous run has *closed* (Temporal's
 * `WorkflowIdReusePolicy`). What happens while a run is still open is the conflict policy's
 * business.
 *
 * - `ALLOW_DUPLICATE` (default): always.
 * - `ALLOW_DUPLICATE_FAILED_ONLY`: only if the last run did not complete successfully
 *   (failed, cancelled, terminated, timed out).
 * - `REJECT_DUPLICATE`: never; the start fails with `WorkflowExecutionAlreadyStartedError`.
 * - `TERMINATE_IF_RUNNING`: legacy; the same as conflict policy `TERMINATE_EXISTING`.
 */
export const WorkflowIdReusePolicy = {
  ALLOW_DUPLICATE: 'ALLOW_DUPLICATE',
  ALLOW_DUPLICATE_FAILED_ONLY: 'ALLOW_DUPLICATE_FAILED_ONLY',
  REJECT_DUPLICATE: 'REJECT_DUPLICATE',
  TERMINATE_IF_RUNNING: 'TERMINATE_IF_RUNNING',
  /** @deprecated Use {@link WorkflowIdReusePolicy.ALLOW_DUPLICATE}. */
  WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE: 'ALLOW_DUPLICATE',
  /** @deprecated Use {@link WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY}. */
  WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY: 'ALLOW_DUPLICATE_FAILED_ONLY',
  /** @deprecated Use {@link WorkflowIdReusePolicy.REJECT_DUPLICATE}. */
  WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE: 'REJECT_DUPLICATE',
  /** @deprecated Use {@link WorkflowIdReusePolicy.TERMINATE_IF_RUNNING}. */
  WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING: 'TERMINATE_IF_RUNNING',
  /** @deprecated Leave the option unset instead. */
  WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED: undefined,
} as const;
export type WorkflowIdReusePolicy = (typeof WorkflowIdReusePolicy)[keyof typeof WorkflowIdReusePolicy];

/**
 * What to do when a run with the workflow id is still *open* (Temporal's
 * `WorkflowIdConflictPolicy`).
 *
 * - `FAIL` (default for `start`): the start fails with `WorkflowExecutionAlreadyStartedError`.
 * - `USE_EXISTING` (default for `signalWithStart`): the open run is used; nothing is started.
 * - `TERMINATE_EXISTING`: the open run is terminated and a new one started, atomically.
 */
export const WorkflowIdConflictPolicy = {
  FAIL: 'FAIL',
  USE_EXISTING: 'USE_EXISTING',
  TERMINATE_EXISTING: 'TERMINATE_EXISTING',
  /** @deprecated Use {@link WorkflowIdConflictPolicy.FAIL}. */
  WORKFLOW_ID_CONFLICT_POLICY_FAIL: 'FAIL',
  /** @deprecated Use {@link WorkflowIdConflictPolicy.USE_EXISTING}. */
  WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING: 'USE_EXISTING',
  /** @deprecated Use {@link WorkflowIdConflictPolicy.TERMINATE_EXISTING}. */
  WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING: 'TERMINATE_EXISTING',
  /** @deprecated Leave the option unset instead. */
  WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED: undefined,
} as const;
export type WorkflowIdConflictPolicy = (typeof WorkflowIdConflictPolicy)[keyof typeof WorkflowIdConflictPolicy];

/**
 * How far an update must have got before `startUpdate` returns (Temporal's
 * `WorkflowUpdateStage`). `startUpdate` accepts only `ACCEPTED`: it returns once the workflow
 * accepted the update (its validator passed and the acceptance is in the history) or rejected
 * it. `executeUpdate` waits for `COMPLETED`.
 */
export const WorkflowUpdateStage = {
  /** The engine has stored the request; the workflow has not seen it yet. */
  ADMITTED: 'ADMITTED',
  /** The workflow accepted (or rejected) it. */
  ACCEPTED: 'ACCEPTED',
  /** The handler finished (or the update was rejected): the outcome is known. */
  COMPLETED: 'COMPLETED',
} as const;
export type WorkflowUpdateStage = (typeof WorkflowUpdateStage)[keyof typeof WorkflowUpdateStage];

/**
 * Which runs a client refuses to query (Temporal's `QueryRejectCondition`; client option
 * `queryRejectCondition`). `NONE` (default): every run, open or closed, is queried.
 * `NOT_OPEN`: closed runs are not. `NOT_COMPLETED_CLEANLY`: runs that closed other than
 * COMPLETED are not. A refused query throws `QueryRejectedError`.
 */
export const QueryRejectCondition = {
  NONE: 'NONE',
  NOT_OPEN: 'NOT_OPEN',
  NOT_COMPLETED_CLEANLY: 'NOT_COMPLETED_CLEANLY',
  /** @deprecated Use {@link QueryRejectCondition.NONE}. */
  QUERY_REJECT_CONDITION_NONE: 'NONE',
  /** @deprecated Use {@link QueryRejectCondition.NOT_OPEN}. */
  QUERY_REJECT_CONDITION_NOT_OPEN: 'NOT_OPEN',
  /** @deprecated Use {@link QueryRejectCondition.NOT_COMPLETED_CLEANLY}. */
  QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY: 'NOT_COMPLETED_CLEANLY',
  /** @deprecated Leave the option unset instead. */
  QUERY_REJECT_CONDITION_UNSPECIFIED: undefined,
} as const;
export type QueryRejectCondition = (typeof QueryRejectCondition)[keyof typeof QueryRejectCondition];

// The protobuf enum numbers, which the oldest Temporal SDKs exposed as the option values.
const REUSE_BY_NUMBER: Readonly<Record<number, EngineReusePolicy>> = {
  1: 'ALLOW_DUPLICATE',
  2: 'ALLOW_DUPLICATE_FAILED_ONLY',
  3: 'REJECT_DUPLICATE',
  4: 'TERMINATE_IF_RUNNING',
};
const CONFLICT_BY_NUMBER: Readonly<Record<number, EngineConflictPolicy>> = { 1: 'FAIL', 2: 'USE_EXISTING', 3: 'TERMINATE_EXISTING' };
const STAGE_BY_NUMBER: Readonly<Record<number, UpdateStage>> = { 1: 'ADMITTED', 2: 'ACCEPTED', 3: 'COMPLETED' };
const REJECT_BY_NUMBER: Readonly<Record<number, Exclude<QueryRejectCondition, undefined>>> = { 1: 'NONE', 2: 'NOT_OPEN', 3: 'NOT_COMPLETED_CLEANLY' };

/**
 * Reads an enum-like option: the plain name, the protobuf name (`<prefix>NAME`), or the
 * protobuf number; `undefined`, `0` and `<prefix>UNSPECIFIED` mean "not set".
 */
function normalize<T extends string>(
  value: unknown,
  field: string,
  prefix: string,
  names: readonly T[],
  byNumber: Readonly<Record<number, T>>,
): T | undefined {
  if (value === undefined || value === null || value === 0 || value === `${prefix}UNSPECIFIED`) return undefined;
  if (typeof value === 'number' && byNumber[value] !== undefined) return byNumber[value];
  if (typeof value === 'string') {
    const name = value.startsWith(prefix) ? value.slice(prefix.length) : value;
    if ((names as readonly string[]).includes(name)) return name as T;
  }
  throw new InvalidArgumentError(field, `${JSON.stringify(value) ?? String(value)} is not one of ${names.map((n) => `'${n}'`).join(', ')}`);
}

/** `workflowIdReusePolicy` as the engine names it, or undefined when unset. */
export function toEngineReusePolicy(value: unknown, field = 'workflowIdReusePolicy'): EngineReusePolicy | undefined {
  return normalize<EngineReusePolicy>(
    value,
    field,
    'WORKFLOW_ID_REUSE_POLICY_',
    ['ALLOW_DUPLICATE', 'ALLOW_DUPLICATE_FAILED_ONLY', 'REJECT_DUPLICATE', 'TERMINATE_IF_RUNNING'],
    REUSE_BY_NUMBER,
  );
}

/** `workflowIdConflictPolicy` as the engine names it, or undefined when unset. */
export function toEngineConflictPolicy(value: unknown, field = 'workflowIdConflictPolicy'): EngineConflictPolicy | undefined {
  return normalize<EngineConflictPolicy>(value, field, 'WORKFLOW_ID_CONFLICT_POLICY_', ['FAIL', 'USE_EXISTING', 'TERMINATE_EXISTING'], CONFLICT_BY_NUMBER);
}

/** `waitForStage` as the engine names it, or undefined when unset. */
export function toEngineUpdateStage(value: unknown, field = 'waitForStage'): UpdateStage | undefined {
  return normalize<UpdateStage>(value, field, 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_', ['ADMITTED', 'ACCEPTED', 'COMPLETED'], STAGE_BY_NUMBER);
}

/** `queryRejectCondition`, defaulting to NONE. */
export function toQueryRejectCondition(value: unknown, field = 'queryRejectCondition'): Exclude<QueryRejectCondition, undefined> {
  return (
    normalize<Exclude<QueryRejectCondition, undefined>>(value, field, 'QUERY_REJECT_CONDITION_', ['NONE', 'NOT_OPEN', 'NOT_COMPLETED_CLEANLY'], REJECT_BY_NUMBER) ??
    'NONE'
  );
}
