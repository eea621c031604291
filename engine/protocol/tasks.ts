import type { WorkflowCommand } from './commands.js';
import type { HistoryEvent, PendingEvent } from './events.js';
import type { FailureInfo } from './failures.js';
import type { Payload } from './payloads.js';

/**
 * A claimed workflow task: the worker must run the workflow over `events` and answer with
 * `completeWorkflowTask` or `failWorkflowTask` before the lease runs out.
 */
export interface WorkflowTask {
  /** Opaque; identifies this claim (run + lease). A stale token is rejected. */
  readonly taskToken: string;
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  /** 1 for the first try; higher after failures or lost leases. */
  readonly attempt: number;
  /** Database time (ms since epoch) at claim: the workflow's `Date.now()` for this task. */
  readonly startedAt: number;
  /**
   * How long the claim lasts (the workflow task timeout): the worker must complete the task
   * well within it, local activities included.
   */
  readonly workflowTaskTimeoutMs?: number;
  /**
   * Id of the last WorkflowTaskCompleted event (0 before the first). A worker whose cached
   * run stopped at this event can apply `events` directly; any other worker replays the
   * history up to this event first.
   */
  readonly previousCompletedEventId: number;
  /** Number of events in the history right now. */
  readonly historyLength: number;
  /** Size of the history in bytes right now (the JSON of its events' attributes). */
  readonly historySizeBytes: number;
  /** The history is past the engine's warning threshold (length or size): continue-as-new soon. */
  readonly continueAsNewSuggested: boolean;
  /**
   * What the workflow has not seen yet, in order: history events after
   * `previousCompletedEventId` (only WorkflowExecutionStarted, for a first task), then the
   * pending events of the run's inbox.
   */
  readonly events: ReadonlyArray<HistoryEvent | PendingEvent>;
}

export interface WorkflowTaskCompletion {
  readonly commands: readonly WorkflowCommand[];
  /** The `Date.now()` the workflow saw: the task's `startedAt`. Recorded so replay sees it too. */
  readonly workflowTime: number;
  /** Identity of the worker (host:pid by default); recorded in history. */
  readonly identity: string;
  /**
   * Eager dispatch: how many of the activities this completion schedules on the workflow's
   * own task queue the worker can start right away (its free activity slots). Those are
   * leased to it in the completing transaction and returned, saving a claim. 0 or absent: none.
   */
  readonly eagerActivitySlots?: number;
  /** The task's `historySizeBytes`, recorded in WorkflowTaskCompleted so replay sees it too. */
  readonly historySizeBytes?: number;
  /** The task's `continueAsNewSuggested`, recorded likewise. */
  readonly continueAsNewSuggested?: boolean;
}

export interface WorkflowTaskCompletionResult {
  /** Event id of the WorkflowTaskCompleted appended: the worker caches the run at this point. */
  readonly completedEventId: number;
  /** True when the run closed with this completion. */
  readonly closed: boolean;
  /**
   * Set when nothing was recorded: the completion would have closed the run while a signal
   * or update the workflow had not seen was waiting (RELIABILITY F8b). The task is pending
   * again with those events; the worker must drop its copy of the run.
   */
  readonly rejected?: 'UNHANDLED_EVENTS';
  /**
   * The run's history after this completion, as its next task would see it before that
   * task's own inputs: the size is an estimate (the size the task saw plus what it appended).
   * A worker that runs the next activation without a claim (the one-commit path) hands these
   * to it, so `workflowInfo().continueAsNewSuggested` keeps up with a growing history.
   */
  readonly historySizeBytes?: number;
  readonly continueAsNewSuggested?: boolean;
  /**
   * Activities scheduled by this completion that were leased to the completing worker in
   * the same transaction (eager dispatch; see `WorkflowTaskCompletion.eagerActivitySlots`).
   * The worker must run them as if it had claimed them.
   */
  readonly eagerActivityTasks?: readonly ActivityTask[];
}

export interface WorkflowTaskFailure {
  readonly cause: 'NON_DETERMINISM' | 'WORKFLOW_ERROR' | 'DEADLOCK' | 'BAD_COMMAND';
  readonly failure: FailureInfo;
  readonly identity: string;
}

/** A claimed activity attempt. */
export interface ActivityTask {
  readonly taskToken: string;
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly activityType: string;
  /** Temporal-style activity id: the activity's seq within its run, as a string. */
  readonly activityId: string;
  readonly taskQueue: string;
  readonly args: readonly Payload[];
  /** 1-based. */
  readonly attempt: number;
  /** Details of the last heartbeat of an earlier attempt (or this one), if any. */
  readonly heartbeatDetails?: Payload;
  readonly priority: number;
  /** Database times, ms since epoch. */
  readonly scheduledAt: number;
  readonly startedAt: number;
  /** When the engine will consider this attempt timed out unless a heartbeat extends it. */
  readonly leaseExpiresAt: number;
  readonly startToCloseTimeoutMs: number;
  readonly heartbeatTimeoutMs?: number;
  readonly scheduleToCloseTimeoutMs?: number;
}

export interface HeartbeatResponse {
  /** The workflow asked for this activity to be cancelled. */
  readonly cancelRequested: boolean;
}

/** A query for a worker to answer against the run's current state (its last completed task). */
export interface QueryTask {
  /** Opaque; answer with `respondQueryTask`. */
  readonly taskToken: string;
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly queryType: string;
  readonly args: readonly Payload[];
}
