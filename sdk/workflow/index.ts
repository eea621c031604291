/**
 * `chronicle/workflow`: what workflow code imports. Runs inside the deterministic sandbox;
 * imports nothing from Node and nothing from engine/ except engine/protocol. Every name here
 * is also safe to import in plain Node (clients import workflow files): defining things is
 * fine anywhere, only calling workflow APIs needs a running workflow.
 */
export {
  proxyActivities,
  type ActivityFunction,
  type ActivityInterfaceFor,
  type ActivityOptions,
  type UntypedActivities,
} from './activities.js';
export { proxyLocalActivities, type LocalActivityOptions } from './local-activities.js';
export { sleep } from './timers.js';
export { condition } from './condition.js';
export { CancellationScope, type CancellationScopeOptions } from './cancellation-scope.js';
export { ActivityCancellationType, ChildWorkflowCancellationType, ParentClosePolicy } from './cancellation-types.js';
export {
  defineSignal,
  defineQuery,
  defineUpdate,
  type SignalDefinition,
  type QueryDefinition,
  type UpdateDefinition,
} from './definitions.js';
export { setHandler, allHandlersFinished, type SignalHandlerOptions, type QueryHandlerOptions, type UpdateHandlerOptions } from './messages.js';
export {
  startChild,
  executeChild,
  type ChildWorkflowHandle,
  type ChildWorkflowOptions,
  type Workflow,
  type WorkflowResultType,
  type WithWorkflowArgs,
} from './children.js';
export { getExternalWorkflowHandle, type ExternalWorkflowHandle } from './external.js';
export { continueAsNew, makeContinueAsNewFunc, ContinueAsNew, type ContinueAsNewOptions } from './continue-as-new.js';
export { patched, deprecatePatch } from './patches.js';
export { upsertSearchAttributes, type SearchAttributesInput } from './search-attributes.js';
export { workflowInfo, uuid4, type WorkflowInfo, type ParentWorkflowInfo } from './info.js';
export { log } from './logging.js';
export {
  TemporalFailure,
  ApplicationFailure,
  ActivityFailure,
  ChildWorkflowFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  ServerFailure,
  WorkflowExecutionAlreadyStartedError,
  DeterminismViolationError,
  NotInWorkflowContextError,
  isCancellation,
  fromFailureInfo,
  type ApplicationFailureOptions,
  type WorkflowExecution,
} from './errors.js';
export type { RetryPolicy } from '../../engine/protocol/activity-options.js';
export type { Duration } from '../../engine/protocol/durations.js';
export type { SearchAttributes, SearchAttributeValue } from '../../engine/protocol/events.js';
export type { FailureInfo, RetryState, TimeoutType } from '../../engine/protocol/failures.js';
