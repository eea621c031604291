import type {
  ActivityTask,
  FailureInfo,
  HeartbeatResponse,
  HistoryEvent,
  Payload,
  PendingEvent,
  QueryOutcome,
  QueryTask,
  SearchAttributes,
  UpdateOutcome,
  WorkflowCommand,
  WorkflowTask,
  WorkflowTaskCompletion,
  WorkflowTaskCompletionResult,
  WorkflowTaskFailure,
} from './protocol/index.js';

/** Temporal's search attribute types. */
export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** Status names as Temporal's. */
export type WorkflowExecutionStatus =
  | 'RUNNING'
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELLED'
  | 'TERMINATED'
  | 'CONTINUED_AS_NEW'
  | 'TIMED_OUT';

/** Names a run: the open (or latest) run of a workflow id, or one run exactly. */
export interface WorkflowRef {
  readonly workflowId: string;
  readonly runId?: string;
}

/** What to do when a run with the workflow id is open (Temporal's names). Default FAIL. */
export type WorkflowIdConflictPolicy = 'FAIL' | 'USE_EXISTING' | 'TERMINATE_EXISTING';

/**
 * Whether a workflow id may be reused once its previous run closed (Temporal's names).
 * Default ALLOW_DUPLICATE. ALLOW_DUPLICATE_FAILED_ONLY: only when the last run did not
 * complete successfully. REJECT_DUPLICATE: never. TERMINATE_IF_RUNNING: legacy spelling of
 * conflict policy TERMINATE_EXISTING.
 */
export type WorkflowIdReusePolicy = 'ALLOW_DUPLICATE' | 'ALLOW_DUPLICATE_FAILED_ONLY' | 'REJECT_DUPLICATE' | 'TERMINATE_IF_RUNNING';

export interface StartWorkflowRequest {
  readonly workflowId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly args?: readonly Payload[];
  /** Who started it, recorded in history. */
  readonly identity?: string;
  readonly workflowIdConflictPolicy?: WorkflowIdConflictPolicy;
  readonly workflowIdReusePolicy?: WorkflowIdReusePolicy;
  /** Typed, indexed attributes for `listWorkflows` (see docs/visibility.md). */
  readonly searchAttributes?: SearchAttributes;
  readonly memo?: Readonly<Record<string, Payload>>;
  /** Bound on the whole chain of runs; the run times out (TIMED_OUT) when it passes. */
  readonly workflowExecutionTimeoutMs?: number;
  /** Bound on one run. */
  readonly workflowRunTimeoutMs?: number;
}

export interface StartWorkflowResponse {
  readonly runId: string;
  /** False when USE_EXISTING returned the open run instead of starting one. */
  readonly started: boolean;
}

export interface SignalRequest {
  readonly signalName: string;
  readonly args?: readonly Payload[];
  readonly identity?: string;
}

export interface SignalWithStartRequest extends StartWorkflowRequest {
  readonly signalName: string;
  readonly signalArgs?: readonly Payload[];
}

export interface QueryRequest {
  readonly queryType: string;
  readonly args?: readonly Payload[];
  /** How long to wait for a worker to answer. Default 30 s; then QueryTimeoutError. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Temporal's WorkflowUpdateStage names that a caller can wait for. */
export type UpdateStage = 'ADMITTED' | 'ACCEPTED' | 'COMPLETED';

export interface UpdateRequest {
  /** Idempotency key: a second request with the same id gets the first one's outcome. Default: a random UUID. */
  readonly updateId?: string;
  readonly name: string;
  readonly args?: readonly Payload[];
  readonly identity?: string;
  /** Return once the update reached this stage. Default COMPLETED. */
  readonly waitForStage?: UpdateStage;
  /** Give up waiting after this long (the update itself goes on). Default: no limit. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Where an update stands; `outcome` once COMPLETED. A validator rejection is COMPLETED with a failure. */
export interface UpdateStatus {
  readonly updateId: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly stage: UpdateStage;
  readonly outcome?: UpdateOutcome;
}

export interface UpdateWithStartRequest {
  readonly start: StartWorkflowRequest;
  readonly update: UpdateRequest;
}

export interface ListWorkflowsRequest {
  /** Temporal's list filter language, e.g. `WorkflowType = 'order' AND ExecutionStatus = 'RUNNING'` (docs/visibility.md). */
  readonly query?: string;
  /** Default 100, at most 1000. */
  readonly pageSize?: number;
  readonly nextPageToken?: string;
}

/** One run as `listWorkflows` and `describeWorkflow` show it. */
export interface WorkflowExecutionInfo {
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly status: WorkflowExecutionStatus;
  /** ms since epoch (database clock) */
  readonly startTime: number;
  readonly closeTime?: number;
  readonly historyLength: number;
  readonly historySizeBytes: number;
  readonly searchAttributes: SearchAttributes;
  readonly memo?: Readonly<Record<string, Payload>>;
  readonly parent?: { readonly workflowId: string; readonly runId: string };
  readonly firstExecutionRunId?: string;
}

export interface ListWorkflowsPage {
  readonly executions: readonly WorkflowExecutionInfo[];
  readonly nextPageToken?: string;
}

export interface WorkflowDescription extends WorkflowExecutionInfo {
  /** Events waiting for the next workflow task. */
  readonly pendingEventCount: number;
  readonly pendingActivityCount: number;
  readonly pendingTimerCount: number;
  /** Set while the run's workflow task keeps failing (non-determinism, a workflow bug). */
  readonly workflowTaskFailure?: { readonly attempt: number; readonly cause: string; readonly message: string };
}

export interface HistoryPage {
  readonly events: readonly HistoryEvent[];
  /** Pass back as `fromEventId` for the next page; absent on the last page. */
  readonly nextEventId?: number;
}

export interface GetHistoryOptions {
  /** First event id to return (default 1). */
  readonly fromEventId?: number;
  /** Last event id to return, inclusive. */
  readonly toEventId?: number;
  /** Default 1000, maximum 10000. */
  readonly pageSize?: number;
}

/** How a run closed. */
export type WorkflowOutcome =
  | { readonly status: 'COMPLETED'; readonly runId: string; readonly result: Payload }
  | { readonly status: 'FAILED'; readonly runId: string; readonly failure: FailureInfo }
  | { readonly status: 'CANCELLED'; readonly runId: string; readonly details?: Payload }
  | { readonly status: 'TERMINATED'; readonly runId: string; readonly reason?: string }
  | { readonly status: 'TIMED_OUT'; readonly runId: string }
  | { readonly status: 'CONTINUED_AS_NEW'; readonly runId: string; readonly newRunId: string };

export interface PollRequest {
  readonly taskQueue: string;
  /** How many tasks to claim at most in one go (the caller's free slots). */
  readonly maxTasks: number;
  readonly identity: string;
  /** Long-poll: how long to wait for work before returning an empty list. Default 10 s. */
  readonly waitMs?: number;
  /** Aborting returns an empty list at once. */
  readonly signal?: AbortSignal;
}

export interface PollWorkflowTasksRequest extends PollRequest {
  /** Workflow types the caller can run; recorded so `startWorkflow` can refuse unknown types. */
  readonly workflowTypes?: readonly string[];
}

export interface ActivityCompletion {
  readonly result: Payload;
  readonly identity: string;
  /**
   * Eager dispatch: the caller polls workflow tasks on this queue and has a free slot. If
   * the result makes the run's workflow task ready on this queue, it is leased to the caller
   * in the same transaction and returned, instead of going through the queue.
   */
  readonly eagerWorkflowTaskQueue?: string;
}

export interface ActivityCompletionResult {
  /** The run's next workflow task, leased to the caller (only with `eagerWorkflowTaskQueue`). */
  readonly eagerWorkflowTask?: WorkflowTask;
}

/**
 * An activity's result together with the workflow task it unblocks, already run by the
 * caller over its cached copy of the run (see `completeActivityAndWorkflowTask`).
 */
export interface ActivityAndWorkflowTaskCompletion {
  readonly result: Payload;
  readonly identity: string;
  /** The run's last WorkflowTaskCompleted event id that the caller's cached state stands at. */
  readonly previousCompletedEventId: number;
  /** The `Date.now()` the workflow saw during the caller's activation (database time, estimated). */
  readonly workflowTime: number;
  /** The commands that activation produced. */
  readonly commands: readonly WorkflowCommand[];
  /** As in `WorkflowTaskCompletion`. */
  readonly eagerActivitySlots?: number;
  /** As in `WorkflowTaskCompletion`: what the caller's activation saw (its last known values). */
  readonly historySizeBytes?: number;
  readonly continueAsNewSuggested?: boolean;
  /** When not applied: as in `ActivityCompletion`. */
  readonly eagerWorkflowTaskQueue?: string;
}

export type ActivityAndWorkflowTaskCompletionResult =
  | ({ readonly applied: true } & WorkflowTaskCompletionResult)
  | ({ readonly applied: false } & ActivityCompletionResult);

export interface ActivityFailureReport {
  readonly failure: FailureInfo;
  readonly identity: string;
}

/**
 * Every operation on Chronicle, in one interface. `PgEngine` implements it against
 * PostgreSQL; `HttpEngine` (later) implements it over the server's HTTP API. Clients and
 * workers are written against this interface only.
 *
 * Errors are `ChronicleError`s with a stable `code` (see docs/errors.md).
 */
export interface Engine {
  /** The namespace every call of this engine acts in. */
  readonly namespace: string;

  /**
   * Starts a run. Fails with WorkflowExecutionAlreadyStartedError when a run with this
   * workflow id is open, InvalidArgumentError for bad input (nothing is written).
   */
  startWorkflow(req: StartWorkflowRequest): Promise<StartWorkflowResponse>;

  /** Describes the open run of `workflowId`, or the latest run, or `runId` exactly. */
  describeWorkflow(ref: WorkflowRef): Promise<WorkflowDescription>;

  /** One page of a run's history, in event-id order. */
  getHistory(ref: WorkflowRef, options?: GetHistoryOptions): Promise<HistoryPage>;

  /** Events that happened to the run but wait for its next workflow task to be recorded. */
  getPendingEvents(ref: WorkflowRef): Promise<readonly PendingEvent[]>;

  /**
   * Waits until the run closes and returns how. Resolves immediately for a closed run.
   * Rejects with an AbortError when `signal` aborts.
   */
  awaitOutcome(ref: WorkflowRef, options?: { readonly signal?: AbortSignal }): Promise<WorkflowOutcome>;

  /**
   * Asks the run to cancel: its workflow sees a cancellation at the next workflow task and
   * decides how to end. Idempotent while the run is open.
   */
  requestCancelWorkflow(ref: WorkflowRef, options?: { readonly reason?: string; readonly identity?: string }): Promise<void>;

  /** Ends the run at once, without running workflow code. Pending activities and timers are dropped. */
  terminateWorkflow(ref: WorkflowRef, options?: { readonly reason?: string; readonly identity?: string }): Promise<void>;

  /**
   * Delivers a signal to the open run of the workflow id (or `ref.runId` exactly). Recorded
   * as WorkflowExecutionSignaled when the next workflow task completes; never dropped.
   * WorkflowNotFoundError / WorkflowNotRunningError when there is no open run.
   */
  signalWorkflow(ref: WorkflowRef, req: SignalRequest): Promise<void>;

  /** Signals the open run of the workflow id, starting it first if none is open; one transaction. */
  signalWithStart(req: SignalWithStartRequest): Promise<StartWorkflowResponse>;

  /**
   * Runs a query handler on a worker of the run's task queue against the run's state as of
   * its last completed workflow task (also for closed runs); writes nothing. Waits until
   * the first workflow task has completed. QueryFailedError when the handler threw or does
   * not exist; QueryTimeoutError when no worker answered in time.
   */
  queryWorkflow(ref: WorkflowRef, req: QueryRequest): Promise<Payload>;

  /** Claims queries for runs of a queue (worker side), waiting up to `waitMs`. */
  pollQueryTasks(req: PollRequest): Promise<QueryTask[]>;

  /** A worker's answer to a query task. Unknown or expired tokens are ignored. */
  respondQueryTask(taskToken: string, outcome: QueryOutcome): Promise<void>;

  /**
   * Sends an update to the open run and waits for `waitForStage`. A rejected update (the
   * validator threw) is COMPLETED with a failure and wrote nothing to history. Idempotent
   * by `updateId`.
   */
  updateWorkflow(ref: WorkflowRef, req: UpdateRequest): Promise<UpdateStatus>;

  /** Waits until a known update reaches `stage` (default COMPLETED). UpdateNotFoundError for an unknown id. */
  pollWorkflowUpdate(ref: WorkflowRef, updateId: string, options?: { readonly waitForStage?: UpdateStage; readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<UpdateStatus>;

  /**
   * Starts the workflow unless it runs (per the start's conflict policy, which must be
   * USE_EXISTING or FAIL) and sends it the update, atomically: concurrent callers create
   * exactly one run.
   */
  updateWithStart(req: UpdateWithStartRequest): Promise<{ readonly runId: string; readonly started: boolean; readonly update: UpdateStatus }>;

  /** Runs matching a list filter, newest first. InvalidArgumentError (field `query`) names a bad filter's position. */
  listWorkflows(req?: ListWorkflowsRequest): Promise<ListWorkflowsPage>;

  /** How many runs match a list filter. */
  countWorkflows(query?: string): Promise<number>;

  /**
   * Declares search attributes in this namespace (Temporal's `operatorService.addSearchAttributes`):
   * a name must be declared with its type before starts, upserts and list filters may use it.
   * Declaring a name again with the same type is a no-op; with another type it is an
   * InvalidArgumentError (nothing changes).
   */
  addSearchAttributes(attributes: Readonly<Record<string, SearchAttributeType>>): Promise<void>;

  /** The declared search attributes of this namespace and their types. */
  listSearchAttributes(): Promise<Readonly<Record<string, SearchAttributeType>>>;

  /** Claims up to `maxTasks` workflow tasks of a queue, waiting up to `waitMs` for one. */
  pollWorkflowTasks(req: PollWorkflowTasksRequest): Promise<WorkflowTask[]>;

  /**
   * Records the task's input events and the events of its commands, atomically, and
   * schedules the activities and timers they ask for. Rejects with StaleTaskError when the
   * token lost its lease; nothing is written then.
   */
  completeWorkflowTask(taskToken: string, completion: WorkflowTaskCompletion): Promise<WorkflowTaskCompletionResult>;

  /**
   * The worker could not run the task (non-determinism, a plain Error thrown by workflow
   * code, a deadlock). The run stays open; the task is retried after a capped backoff.
   */
  failWorkflowTask(taskToken: string, failure: WorkflowTaskFailure): Promise<void>;

  /** Claims up to `maxTasks` activity attempts: highest priority first, then oldest. */
  pollActivityTasks(req: PollRequest): Promise<ActivityTask[]>;

  /** Records the activity's result. StaleTaskError when the lease was lost. */
  completeActivityTask(taskToken: string, completion: ActivityCompletion): Promise<ActivityCompletionResult>;

  /**
   * Records an activity's result and, in the same commit, the workflow task it unblocks,
   * which the caller has already run over its cached copy of the run. Applied only if
   * nothing else happened to the run since `previousCompletedEventId` (no task in flight, no
   * other event pending); otherwise the result is recorded as `completeActivityTask` would
   * and `applied` is false, and the caller must drop its speculative state. StaleTaskError
   * when the activity's lease was lost (nothing written).
   */
  completeActivityAndWorkflowTask(
    activityTaskToken: string,
    completion: ActivityAndWorkflowTaskCompletion,
  ): Promise<ActivityAndWorkflowTaskCompletionResult>;

  /**
   * Reports a failed attempt. The engine applies the retry policy: a later attempt is
   * scheduled, or the final failure is recorded for the workflow.
   */
  failActivityTask(taskToken: string, report: ActivityFailureReport): Promise<void>;

  /** Extends the lease (when a heartbeat timeout is set) and stores `details` for the next attempt. */
  heartbeatActivityTask(taskToken: string, details?: Payload): Promise<HeartbeatResponse>;

  /** Releases connections and stops background work started by this engine. */
  close(): Promise<void>;
}
