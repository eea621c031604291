import type { ChildWorkflowCancellationType, ParentClosePolicy, SearchAttributes, UpdateOutcome } from './events.js';
import type { FailureInfo } from './failures.js';
import type { Payload } from './payloads.js';
import type { ActivityScheduleOptions } from './retry-policy.js';

/**
 * What a workflow asks the engine to do, produced by one activation. Each command becomes
 * exactly one history event (see `commandEventType`); on replay, every command must match
 * its recorded event by kind, seq and type, or the task fails with NonDeterminismError.
 *
 * `seq` numbers are per kind and per run (activities 1, 2, 3…; timers 1, 2, 3…; children,
 * external signals, external cancels and local activities each their own), assigned by the
 * workflow in the order it issues the commands, as sdk-core does.
 *
 * One command records no event: RejectUpdate (a validator's rejection writes nothing).
 */
export type WorkflowCommand =
  | ScheduleActivityCommand
  | RequestCancelActivityCommand
  | StartTimerCommand
  | CancelTimerCommand
  | RecordMarkerCommand
  | UpsertSearchAttributesCommand
  | StartChildWorkflowCommand
  | SignalExternalWorkflowCommand
  | RequestCancelExternalWorkflowCommand
  | AcceptUpdateCommand
  | RejectUpdateCommand
  | CompleteUpdateCommand
  | CompleteWorkflowCommand
  | FailWorkflowCommand
  | CancelWorkflowCommand
  | ContinueAsNewCommand;

export interface ScheduleActivityCommand {
  readonly kind: 'ScheduleActivity';
  readonly seq: number;
  readonly activityType: string;
  /** Defaults to the workflow's task queue. */
  readonly taskQueue?: string;
  readonly args: readonly Payload[];
  readonly options: ActivityScheduleOptions;
}

/**
 * Asks the engine to cancel a scheduled activity: a pending attempt is dropped and reported
 * as ActivityTaskCanceled at once; a running one learns it from its next heartbeat.
 */
export interface RequestCancelActivityCommand {
  readonly kind: 'RequestCancelActivity';
  readonly seq: number;
}

export interface StartTimerCommand {
  readonly kind: 'StartTimer';
  readonly seq: number;
  readonly durationMs: number;
}

export interface CancelTimerCommand {
  readonly kind: 'CancelTimer';
  readonly seq: number;
}

/** A marker in history: a patch (`core_patch`) or a local activity's outcome (`core_local_activity`). */
export interface RecordMarkerCommand {
  readonly kind: 'RecordMarker';
  readonly markerName: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** Merges search attributes per key (`[]` removes a key). */
export interface UpsertSearchAttributesCommand {
  readonly kind: 'UpsertSearchAttributes';
  readonly searchAttributes: SearchAttributes;
}

export interface StartChildWorkflowCommand {
  readonly kind: 'StartChildWorkflow';
  readonly seq: number;
  readonly workflowId: string;
  readonly workflowType: string;
  /** Defaults to the parent's task queue. */
  readonly taskQueue?: string;
  readonly args: readonly Payload[];
  readonly parentClosePolicy: ParentClosePolicy;
  readonly cancellationType: ChildWorkflowCancellationType;
  readonly searchAttributes?: SearchAttributes;
  readonly memo?: Readonly<Record<string, Payload>>;
  readonly workflowExecutionTimeoutMs?: number;
  readonly workflowRunTimeoutMs?: number;
}

export interface SignalExternalWorkflowCommand {
  readonly kind: 'SignalExternalWorkflow';
  readonly seq: number;
  readonly workflowId: string;
  readonly runId?: string;
  readonly signalName: string;
  readonly args: readonly Payload[];
  readonly childWorkflowOnly: boolean;
}

export interface RequestCancelExternalWorkflowCommand {
  readonly kind: 'RequestCancelExternalWorkflow';
  readonly seq: number;
  readonly workflowId: string;
  readonly runId?: string;
  readonly childWorkflowOnly: boolean;
}

/** The update's validator passed (or there is none): it is recorded and its handler runs. */
export interface AcceptUpdateCommand {
  readonly kind: 'AcceptUpdate';
  readonly updateId: string;
  readonly name: string;
  readonly args: readonly Payload[];
}

/** The update's validator threw, or no handler exists: nothing is recorded; the caller gets the failure. */
export interface RejectUpdateCommand {
  readonly kind: 'RejectUpdate';
  readonly updateId: string;
  readonly failure: FailureInfo;
}

/** An accepted update's handler returned or threw a TemporalFailure. */
export interface CompleteUpdateCommand {
  readonly kind: 'CompleteUpdate';
  readonly updateId: string;
  readonly outcome: UpdateOutcome;
}

export interface CompleteWorkflowCommand {
  readonly kind: 'CompleteWorkflow';
  readonly result: Payload;
}

export interface FailWorkflowCommand {
  readonly kind: 'FailWorkflow';
  readonly failure: FailureInfo;
}

/** The workflow accepted a cancel request and ends CANCELLED. */
export interface CancelWorkflowCommand {
  readonly kind: 'CancelWorkflow';
  readonly details?: Payload;
}

/** Closes this run and starts the next of its chain (same workflow id) with fresh history. */
export interface ContinueAsNewCommand {
  readonly kind: 'ContinueAsNew';
  /** Defaults to this run's. */
  readonly workflowType?: string;
  /** Defaults to this run's. */
  readonly taskQueue?: string;
  readonly args: readonly Payload[];
  /** Defaults to this run's current search attributes. */
  readonly searchAttributes?: SearchAttributes;
  readonly memo?: Readonly<Record<string, Payload>>;
  readonly workflowRunTimeoutMs?: number;
}

export type CommandKind = WorkflowCommand['kind'];

/** The event type each command kind is recorded as (`null`: the command records nothing). */
export const COMMAND_EVENT: { readonly [K in CommandKind]: string | null } = {
  ScheduleActivity: 'ActivityTaskScheduled',
  RequestCancelActivity: 'ActivityTaskCancelRequested',
  StartTimer: 'TimerStarted',
  CancelTimer: 'TimerCanceled',
  RecordMarker: 'MarkerRecorded',
  UpsertSearchAttributes: 'UpsertWorkflowSearchAttributes',
  StartChildWorkflow: 'StartChildWorkflowExecutionInitiated',
  SignalExternalWorkflow: 'SignalExternalWorkflowExecutionInitiated',
  RequestCancelExternalWorkflow: 'RequestCancelExternalWorkflowExecutionInitiated',
  AcceptUpdate: 'WorkflowExecutionUpdateAccepted',
  RejectUpdate: null,
  CompleteUpdate: 'WorkflowExecutionUpdateCompleted',
  CompleteWorkflow: 'WorkflowExecutionCompleted',
  FailWorkflow: 'WorkflowExecutionFailed',
  CancelWorkflow: 'WorkflowExecutionCanceled',
  ContinueAsNew: 'WorkflowExecutionContinuedAsNew',
};

export function isTerminalCommand(c: WorkflowCommand): boolean {
  return c.kind === 'CompleteWorkflow' || c.kind === 'FailWorkflow' || c.kind === 'CancelWorkflow' || c.kind === 'ContinueAsNew';
}

export function assertNever(x: never, what = 'value'): never {
  throw new TypeError(`Unexpected ${what}: ${JSON.stringify(x)}`);
}
