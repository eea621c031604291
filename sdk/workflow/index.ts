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
  type UntypedActivities,
} from './activities.js';
export { sleep } from './timers.js';
export { workflowInfo, uuid4, type WorkflowInfo } from './info.js';
export { log } from './logging.js';
export {
  TemporalFailure,
  ApplicationFailure,
  ActivityFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  ServerFailure,
  DeterminismViolationError,
  NotInWorkflowContextError,
  isCancellation,
  fromFailureInfo,
  type ApplicationFailureOptions,
} from './errors.js';
export type { ActivityOptions, RetryPolicy } from '../../engine/protocol/activity-options.js';
export type { Duration } from '../../engine/protocol/durations.js';
export type { FailureInfo, RetryState, TimeoutType } from '../../engine/protocol/failures.js';
