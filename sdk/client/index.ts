/**
 * `chronicle/client`: start workflows and talk to them — signal, query, update, wait for,
 * describe, list, cancel, terminate — and complete asynchronous activities. Temporal's
 * `@temporalio/client` names, options and error classes, so moving client code over means
 * changing the import.
 *
 * The failure classes (`ApplicationFailure`, `CancelledFailure`, …) are the very classes
 * `chronicle/workflow` and `chronicle/common` export, so `instanceof` holds whichever entry
 * point an application imports them from.
 */
export { Client, type ClientOptions } from './client.js';
export { Connection } from './connection.js';
export {
  WorkflowClient,
  type AsyncWorkflowListIterable,
  type CountWorkflowExecution,
  type GetWorkflowHandleOptions,
  type ListOptions,
  type WorkflowSignalWithStartOptions,
  type WorkflowTypeOrFunc,
} from './workflow-client.js';
export { WorkflowHandle, type GetWorkflowUpdateHandleOptions, type HandleResult, type WorkflowUpdateOptions } from './workflow-handle.js';
export { WorkflowUpdateHandle } from './update-handle.js';
export { WithStartWorkflowOperation } from './with-start.js';
export { AsyncCompletionClient, type TaskToken } from './async-completion-client.js';
export type {
  SearchAttributes,
  SearchAttributeValue,
  WithWorkflowArgs,
  Workflow,
  WorkflowOptions,
  WorkflowResultType,
  WorkflowStartOptions,
} from './workflow-options.js';
export type { QueryDefinition, SignalDefinition, UpdateDefinition } from './definitions.js';
export { QueryRejectCondition, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowUpdateStage } from './policies.js';
export {
  WORKFLOW_EXECUTION_STATUS_CODES,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowExecutionStatusInfo,
  type WorkflowExecutionStatusName,
} from './execution-info.js';
export {
  ActivityCancelledError,
  ActivityCompletionError,
  ActivityNotFoundError,
  QueryNotRegisteredError,
  QueryRejectedError,
  WorkflowContinuedAsNewError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from './errors.js';
export {
  ChronicleError,
  InvalidArgumentError,
  PayloadNotSerializableError,
  QueryFailedError,
  QueryTimeoutError,
  UnknownWorkflowTypeError,
  UpdateNotFoundError,
  UpdateWaitTimeoutError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowNotRunningError,
} from '../../engine/protocol/errors.js';
export {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  ServerFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '../workflow/errors.js';
export type { RetryState, TimeoutType } from '../../engine/protocol/failures.js';
export type { Duration } from '../../engine/protocol/durations.js';
export type { HistoryEvent } from '../../engine/protocol/index.js';
export { summarizeHistory } from './history-summary.js';
