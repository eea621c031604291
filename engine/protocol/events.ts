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
  };
  WorkflowTaskCompleted: {
    /** Workflow time (ms since epoch) during this task: what `Date.now()` returned. */
    readonly workflowTime: number;
    readonly identity: string;
    /** Attempt of the workflow task that completed (>1 after failures or lost leases). */
    readonly attempt: number;
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
  WorkflowExecutionCancelRequested: {
    readonly reason?: string;
    readonly identity?: string;
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
}

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
  'TimerFired',
  'WorkflowExecutionCancelRequested',
] as const satisfies readonly EventType[];

/** Events that a workflow command produced; replay matches them against commands. */
export const COMMAND_EVENT_TYPES = [
  'ActivityTaskScheduled',
  'TimerStarted',
  'TimerCanceled',
  'WorkflowExecutionCompleted',
  'WorkflowExecutionFailed',
  'WorkflowExecutionCanceled',
] as const satisfies readonly EventType[];

/** Events that close a run. */
export const TERMINAL_EVENT_TYPES = [
  'WorkflowExecutionCompleted',
  'WorkflowExecutionFailed',
  'WorkflowExecutionCanceled',
  'WorkflowExecutionTerminated',
] as const satisfies readonly EventType[];

export function isCommandEvent(e: { eventType: EventType }): boolean {
  return (COMMAND_EVENT_TYPES as readonly string[]).includes(e.eventType);
}

export function isTerminalEvent(e: { eventType: EventType }): boolean {
  return (TERMINAL_EVENT_TYPES as readonly string[]).includes(e.eventType);
}
