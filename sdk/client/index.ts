/**
 * `chronicle/client`: start, await, describe, cancel and terminate workflows.
 * Temporal's `@temporalio/client` names.
 */
export { Client, WorkflowClient, type ClientOptions, type WorkflowStartOptions, type Workflow } from './client.js';
export { Connection } from './connection.js';
export { WorkflowHandle, type WorkflowExecutionDescription } from './workflow-handle.js';
export { WorkflowFailedError } from './errors.js';
export {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowNotRunningError,
  InvalidArgumentError,
  PayloadNotSerializableError,
  UnknownWorkflowTypeError,
  ChronicleError,
} from '../../engine/errors.js';
export { ApplicationFailure, ActivityFailure, CancelledFailure, TemporalFailure, TerminatedFailure, TimeoutFailure } from '../workflow/errors.js';
export type { HistoryEvent } from '../../engine/protocol/index.js';
export { summarizeHistory } from './history-summary.js';
