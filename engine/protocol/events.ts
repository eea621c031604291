import type { FailureInfo, RetryState, TimeoutType } from './failures.js';
import type { Payload } from './payloads.js';
import type { ActivityScheduleOptions } from './retry-policy.js';

/**
 * History events. A run's history is an append-only list of these, numbered densely from 1.
 *
 * Batches: every workflow task completion appends, in one transaction, first the input
 * events the task saw (activity results, timer firings, cancel requests that had arrived
 * before the task was claimed), then the events of the commands the workflow produced, then
 * one WorkflowTaskCompleted. Event 1 (WorkflowExecutionStarted) belongs to the first batch.
 * Replay therefore sees exactly the batches the original execution saw.
 */
export interface EventAttributes {
  WorkflowExecutionStarted: {
    readonly workflowType: string;
    readonly workflowId: string;
    /** The run's id; also the seed of its deterministic randomness, so a replay needs it. */
    readonly runId: string;
    readonly taskQueue: string;
    readonly args: readonly Payload[];
    readonly identity?: string;
    /** The run that started this one as a child, if any (ParentClosePolicy applies to it). */
    readonly parent?: ParentInfo;
    /** The run this one continues (continue-as-new), if any. */
    readonly continuedExecutionRunId?: string;
    /** The first run of the chain this run belongs to (its own id for a first run). */
    readonly firstExecutionRunId?: string;
    /** Search attributes at start: typed, indexed, queryable with `workflow.list`. */
    readonly searchAttributes?: SearchAttributes;
    /** Non-indexed data shown by describe(). */
    readonly memo?: Readonly<Record<string, Payload>>;
    /** Bound on the whole chain of runs (continue-as-new keeps the deadline). */
    readonly workflowExecutionTimeoutMs?: number;
    /** Bound on this run. */
    readonly workflowRunTimeoutMs?: number;
  };
  WorkflowTaskCompleted: {
    /** Workflow time (ms since epoch) during this task: what `Date.now()` returned. */
    readonly workflowTime: number;
    readonly identity: string;
    /** Attempt of the workflow task that completed (>1 after failures or lost leases). */
    readonly attempt: number;
    /** History size in bytes the task saw (`workflowInfo().historySize`), recorded for replay. */
    readonly historySizeBytes?: number;
    /** What `workflowInfo().continueAsNewSuggested` returned during the task. */
    readonly continueAsNewSuggested?: boolean;
  };
  WorkflowTaskFailed: {
    readonly cause: WorkflowTaskFailedCause;
    readonly failure: FailureInfo;
    readonly identity: string;
    readonly attempt: number;
  };
  ActivityTaskScheduled: {
    readonly seq: number;
    readonly activityType: string;
    readonly taskQueue: string;
    readonly args: readonly Payload[];
    readonly options: ActivityScheduleOptions;
  };
  ActivityTaskCompleted: {
    readonly seq: number;
    readonly result: Payload;
    readonly attempt: number;
    readonly identity: string;
    /** Failure of the previous attempt (a timed-out lease, a thrown error), if any. */
    readonly lastFailure?: FailureInfo;
  };
  ActivityTaskFailed: {
    readonly seq: number;
    readonly failure: FailureInfo;
    readonly attempt: number;
    readonly retryState: RetryState;
    readonly identity?: string;
  };
  ActivityTaskTimedOut: {
    readonly seq: number;
    readonly failure: FailureInfo;
    readonly attempt: number;
    readonly timeoutType: TimeoutType;
    readonly retryState: RetryState;
  };
  TimerStarted: {
    readonly seq: number;
    readonly durationMs: number;
    /** Database time (ms since epoch) at which the timer fires. */
    readonly fireAt: number;
  };
  TimerFired: {
    readonly seq: number;
  };
  TimerCanceled: {
    readonly seq: number;
  };
  ActivityTaskCancelRequested: {
    readonly seq: number;
  };
  /** The activity acknowledged a cancel request (or was cancelled before it started). */
  ActivityTaskCanceled: {
    readonly seq: number;
    readonly details?: Payload;
    readonly attempt?: number;
    readonly identity?: string;
  };
  WorkflowExecutionCancelRequested: {
    readonly reason?: string;
    readonly identity?: string;
  };
  WorkflowExecutionSignaled: {
    readonly signalName: string;
    readonly args: readonly Payload[];
    readonly identity?: string;
  };
  /**
   * An update request waiting for the workflow. Inbox only, never appended to history: the
   * workflow either accepts it (WorkflowExecutionUpdateAccepted, a command event) or its
   * validator rejects it, and then nothing is written.
   */
  WorkflowExecutionUpdateAdmitted: {
    readonly updateId: string;
    readonly name: string;
    readonly args: readonly Payload[];
    readonly identity?: string;
  };
  /** Command event; on replay it also re-delivers the update to its handler (no validator). */
  WorkflowExecutionUpdateAccepted: {
    readonly updateId: string;
    readonly name: string;
    readonly args: readonly Payload[];
    readonly identity?: string;
  };
  WorkflowExecutionUpdateCompleted: {
    readonly updateId: string;
    readonly outcome: UpdateOutcome;
  };
  MarkerRecorded: {
    /** `core_patch` (details: patchId, deprecated) or `core_local_activity` (details: seq, activityType, result | failure, attempt). */
    readonly markerName: string;
    readonly details: Readonly<Record<string, unknown>>;
  };
  UpsertWorkflowSearchAttributes: {
    /** Keys set (value arrays) or removed (empty arrays). */
    readonly searchAttributes: SearchAttributes;
  };
  StartChildWorkflowExecutionInitiated: {
    readonly seq: number;
    readonly workflowId: string;
    readonly workflowType: string;
    readonly taskQueue: string;
    readonly args: readonly Payload[];
    readonly parentClosePolicy: ParentClosePolicy;
    readonly cancellationType: ChildWorkflowCancellationType;
    readonly searchAttributes?: SearchAttributes;
    readonly memo?: Readonly<Record<string, Payload>>;
    readonly workflowExecutionTimeoutMs?: number;
    readonly workflowRunTimeoutMs?: number;
  };
  StartChildWorkflowExecutionFailed: {
    readonly seq: number;
    readonly workflowId: string;
    readonly workflowType: string;
    readonly cause: 'WORKFLOW_ALREADY_EXISTS';
  };
  ChildWorkflowExecutionStarted: {
    readonly seq: number;
    readonly workflowId: string;
    readonly runId: string;
  };
  ChildWorkflowExecutionCompleted: ChildClose & { readonly result: Payload };
  ChildWorkflowExecutionFailed: ChildClose & { readonly failure: FailureInfo; readonly retryState: RetryState };
  ChildWorkflowExecutionCanceled: ChildClose & { readonly details?: Payload };
  ChildWorkflowExecutionTerminated: ChildClose & { readonly reason?: string };
  ChildWorkflowExecutionTimedOut: ChildClose & { readonly retryState: RetryState };
  SignalExternalWorkflowExecutionInitiated: {
    readonly seq: number;
    readonly workflowId: string;
    readonly runId?: string;
    readonly signalName: string;
    readonly args: readonly Payload[];
    /** Only deliver if the target is a child of this run. */
    readonly childWorkflowOnly: boolean;
  };
  ExternalWorkflowExecutionSignaled: {
    readonly seq: number;
    readonly workflowId: string;
    readonly runId: string;
  };
  SignalExternalWorkflowExecutionFailed: {
    readonly seq: number;
    readonly workflowId: string;
    readonly cause: 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND';
  };
  RequestCancelExternalWorkflowExecutionInitiated: {
    readonly seq: number;
    readonly workflowId: string;
    readonly runId?: string;
    readonly childWorkflowOnly: boolean;
  };
  ExternalWorkflowExecutionCancelRequested: {
    readonly seq: number;
    readonly workflowId: string;
    readonly runId: string;
  };
  RequestCancelExternalWorkflowExecutionFailed: {
    readonly seq: number;
    readonly workflowId: string;
    readonly cause: 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND';
  };
  WorkflowExecutionCompleted: {
    readonly result: Payload;
  };
  WorkflowExecutionFailed: {
    readonly failure: FailureInfo;
  };
  WorkflowExecutionCanceled: {
    readonly details?: Payload;
  };
  WorkflowExecutionTerminated: {
    readonly reason?: string;
    readonly identity?: string;
  };
  WorkflowExecutionContinuedAsNew: {
    /** Filled in by the engine when it records the event. */
    readonly newExecutionRunId: string;
    readonly workflowType: string;
    readonly taskQueue: string;
    readonly args: readonly Payload[];
    readonly searchAttributes?: SearchAttributes;
    readonly memo?: Readonly<Record<string, Payload>>;
    readonly workflowRunTimeoutMs?: number;
  };
  /** The run (or its chain) passed its run or execution timeout; appended by the engine. */
  WorkflowExecutionTimedOut: {
    readonly timeoutType: 'WORKFLOW_EXECUTION_TIMEOUT' | 'WORKFLOW_RUN_TIMEOUT';
    readonly retryState: RetryState;
  };
}

/** Who started a child run. */
export interface ParentInfo {
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string;
  /** The parent's seq for this child (its StartChildWorkflowExecutionInitiated). */
  readonly seq: number;
  readonly parentClosePolicy: ParentClosePolicy;
}

/** Common attributes of the events that tell a parent how its child ended. */
export interface ChildClose {
  readonly seq: number;
  readonly workflowId: string;
  /** The child's run that closed (the last run of its continue-as-new chain). */
  readonly runId: string;
  readonly workflowType: string;
}

/** What happens to a running child when its parent run closes (Temporal's names). */
export type ParentClosePolicy = 'TERMINATE' | 'ABANDON' | 'REQUEST_CANCEL';

/** How a parent waits when it cancels a child (Temporal's names; default WAIT_CANCELLATION_COMPLETED). */
export type ChildWorkflowCancellationType = 'ABANDON' | 'TRY_CANCEL' | 'WAIT_CANCELLATION_COMPLETED' | 'WAIT_CANCELLATION_REQUESTED';

/** Search attributes: each key maps to an array of values (Temporal's legacy shape); `[]` removes a key. */
export type SearchAttributes = Readonly<Record<string, readonly SearchAttributeValue[]>>;
export type SearchAttributeValue = string | number | boolean;

/** How an accepted update ended. */
export type UpdateOutcome = { readonly result: Payload } | { readonly failure: FailureInfo };

export type EventType = keyof EventAttributes;

export type WorkflowTaskFailedCause = 'NON_DETERMINISM' | 'WORKFLOW_ERROR' | 'DEADLOCK' | 'BAD_COMMAND';

/** One history event of a given type. */
export interface HistoryEventOf<T extends EventType> {
  readonly eventId: number;
  readonly eventType: T;
  /** Database time (ms since epoch) at which the event was appended. */
  readonly timestamp: number;
  readonly attributes: EventAttributes[T];
  /** Propagated context (trace headers later); empty object when none. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A history event, discriminated by `eventType`. */
export type HistoryEvent = { [T in EventType]: HistoryEventOf<T> }[EventType];

/**
 * An event that happened to a run but is not in its history yet: it is waiting in the
 * run's inbox for the next workflow task to see it. A workflow task hands these to the
 * worker; the task's completion appends them, with ids, before the task's commands.
 */
export type PendingEvent = { [T in EventType]: { readonly eventType: T; readonly attributes: EventAttributes[T] } }[EventType];

/** Events that only ever arrive through the inbox (they are the inputs of activations). */
export const INBOX_EVENT_TYPES = [
  'ActivityTaskCompleted',
  'ActivityTaskFailed',
  'ActivityTaskTimedOut',
  'ActivityTaskCanceled',
  'TimerFired',
  'WorkflowExecutionCancelRequested',
  'WorkflowExecutionSignaled',
  'StartChildWorkflowExecutionFailed',
  'ChildWorkflowExecutionStarted',
  'ChildWorkflowExecutionCompleted',
  'ChildWorkflowExecutionFailed',
  'ChildWorkflowExecutionCanceled',
  'ChildWorkflowExecutionTerminated',
  'ChildWorkflowExecutionTimedOut',
  'ExternalWorkflowExecutionSignaled',
  'SignalExternalWorkflowExecutionFailed',
  'ExternalWorkflowExecutionCancelRequested',
  'RequestCancelExternalWorkflowExecutionFailed',
] as const satisfies readonly EventType[];

/** Inbox events that are consumed by a workflow task without being appended to history. */
export const INBOX_ONLY_EVENT_TYPES = ['WorkflowExecutionUpdateAdmitted'] as const satisfies readonly EventType[];

/**
 * Inbox events the workflow must see before it may close: a completion that would close the
 * run while one of these waits unseen is rejected and the task runs again with it
 * (RELIABILITY F8b, SEMANTICS 11), so no signal or update is acknowledged and dropped.
 */
export const MUST_SEE_EVENT_TYPES = ['WorkflowExecutionSignaled', 'WorkflowExecutionUpdateAdmitted'] as const satisfies readonly EventType[];

/** Events that a workflow command produced; replay matches them against commands. */
export const COMMAND_EVENT_TYPES = [
  'ActivityTaskScheduled',
  'ActivityTaskCancelRequested',
  'TimerStarted',
  'TimerCanceled',
  'MarkerRecorded',
  'UpsertWorkflowSearchAttributes',
  'StartChildWorkflowExecutionInitiated',
  'SignalExternalWorkflowExecutionInitiated',
  'RequestCancelExternalWorkflowExecutionInitiated',
  'WorkflowExecutionUpdateAccepted',
  'WorkflowExecutionUpdateCompleted',
  'WorkflowExecutionCompleted',
  'WorkflowExecutionFailed',
  'WorkflowExecutionCanceled',
  'WorkflowExecutionContinuedAsNew',
] as const satisfies readonly EventType[];

/** Events the engine appends between workflow tasks; they carry nothing the workflow sees. */
export const ENGINE_EVENT_TYPES = ['WorkflowTaskFailed', 'WorkflowExecutionTerminated', 'WorkflowExecutionTimedOut'] as const satisfies readonly EventType[];

/** Events that close a run. */
export const TERMINAL_EVENT_TYPES = [
  'WorkflowExecutionCompleted',
  'WorkflowExecutionFailed',
  'WorkflowExecutionCanceled',
  'WorkflowExecutionTerminated',
  'WorkflowExecutionContinuedAsNew',
  'WorkflowExecutionTimedOut',
] as const satisfies readonly EventType[];

export function isCommandEvent(e: { eventType: EventType }): boolean {
  return (COMMAND_EVENT_TYPES as readonly string[]).includes(e.eventType);
}

export function isTerminalEvent(e: { eventType: EventType }): boolean {
  return (TERMINAL_EVENT_TYPES as readonly string[]).includes(e.eventType);
}
