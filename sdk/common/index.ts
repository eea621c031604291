/**
 * `chronicle/common`: what Temporal's `@temporalio/common` offers that Chronicle has — the
 * failure classes, the option enums, and the shared types — for code that imports them from
 * there (`import { ApplicationFailure } from '@temporalio/common'` becomes
 * `from 'chronicle/common'`).
 *
 * Everything here is re-exported, never redefined: `ApplicationFailure` from this module *is*
 * the class `chronicle/workflow`, `chronicle/activity` and `chronicle/client` export, so
 * `instanceof` holds across them. The module imports nothing from Node, so workflow code may
 * import it inside the sandbox too.
 *
 * Not here (yet): payload converters and codecs (Chronicle's payloads are JSON values),
 * typed search attributes (`defineSearchAttributeKey`, `TypedSearchAttributes`), `Priority`,
 * worker deployment versioning, and the `ValueError` / `IllegalStateError` /
 * `NamespaceNotFoundError` classes.
 */
export {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  ServerFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  type ApplicationFailureOptions,
} from '../workflow/errors.js';
export { ActivityCancellationType, ChildWorkflowCancellationType, ParentClosePolicy } from '../workflow/cancellation-types.js';
export type { QueryDefinition, SignalDefinition, UpdateDefinition } from '../workflow/definitions.js';
export { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '../../engine/protocol/errors.js';
export { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '../client/policies.js';
export type { SearchAttributes, SearchAttributeValue, Workflow, WorkflowResultType } from '../client/workflow-options.js';
export type { ActivityOptions, RetryPolicy } from '../../engine/protocol/activity-options.js';
export type { Duration } from '../../engine/protocol/durations.js';
export type { RetryState, TimeoutType } from '../../engine/protocol/failures.js';
