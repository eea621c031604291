import type { ActivationJob, ActivityResolution, QueryOutcome, WorkflowRunInfo } from '../../engine/protocol/activation.js';
import { isTerminalCommand, type WorkflowCommand } from '../../engine/protocol/commands.js';
import type { HistoryEvent, PendingEvent } from '../../engine/protocol/events.js';
import type { FailureInfo, FailureInfoCarrier } from '../../engine/protocol/failures.js';
import { batchHistoryLength, splitHistory, type HistoryBatch } from './replay/history-batches.js';
import { jobsFromEvents, replayJobs, type JobsOptions } from './replay/jobs.js';
import { answerLocalActivities } from './replay/local-activity-markers.js';
import { matchCommands } from './replay/matcher.js';
import { type ActivationResult, type WorkflowSandbox, type WorkflowSandboxFactory } from './sandbox.js';

export type { ActivationResult } from './sandbox.js';

/** The workflow-time facts of a live workflow task. */
export interface LiveActivationOptions {
  /**
   * Workflow time for the task: what `Date.now()` returns. Use the task's `startedAt`, and
   * record the same value as the WorkflowTaskCompleted's `workflowTime` (replay uses it).
   */
  readonly timestamp: number;
  /**
   * What `workflowInfo().historyLength` returns: the history length once this task's inputs
   * are recorded, i.e. `task.historyLength` plus the number of PendingEvents in `events`.
   * Replay computes the same number from the recorded batch, so the workflow sees the same.
   * Inbox-only events (WorkflowExecutionUpdateAdmitted) are never recorded: do not count them.
   */
  readonly historyLength: number;
  /**
   * `workflowInfo().historySize`: the task's `historySizeBytes`. Record the same value in the
   * completion (`WorkflowTaskCompletion.historySizeBytes`): replay reads it back from there.
   */
  readonly historySizeBytes?: number;
  /** `workflowInfo().continueAsNewSuggested`: the task's value, recorded in the completion likewise. */
  readonly continueAsNewSuggested?: boolean;
}

/** The outcome of a local activity the worker ran, for `WorkflowRun.resolveLocalActivities`. */
export interface LocalActivityResolution {
  readonly seq: number;
  /** Attempts it took (1 when the first succeeded); recorded in the marker. */
  readonly attempt: number;
  /**
   * `{ status: 'completed', result }`, or `{ status: 'failed', failure }` with failure an
   * `activity` failure (activityType, activityId = seq, retryState) whose cause is the last
   * attempt's failure (or a `timeout` failure), as for ordinary activities.
   */
  readonly result: ActivityResolution;
}

export interface ReplaySummary {
  /** Completed workflow tasks replayed. */
  readonly replayedBatches: number;
  /** Id of the last WorkflowTaskCompleted replayed (0 when none). */
  readonly lastCompletedEventId: number;
}

/**
 * A replayed activation failed: workflow code threw a plain Error where the original
 * execution did not (WORKFLOW_ERROR), or ran past the deadlock timeout (DEADLOCK). Carries
 * the failure to report; `toFailureInfo` returns it unchanged.
 */
export class WorkflowTaskError extends Error implements FailureInfoCarrier {
  readonly failure: FailureInfo;
  /** The WorkflowTaskCompleted of the batch whose replay failed. */
  readonly eventId: number;
  /** What a worker reports to `failWorkflowTask` as the cause. */
  readonly taskFailureCause: 'WORKFLOW_ERROR' | 'DEADLOCK';
  constructor(kind: 'WORKFLOW_ERROR' | 'DEADLOCK', failure: FailureInfo, eventId: number) {
    super(`Replaying the workflow task completed at event ${eventId} failed (${kind}): ${failure.message}`);
    this.name = 'WorkflowTaskError';
    this.taskFailureCause = kind;
    this.failure = failure;
    this.eventId = eventId;
  }
  toFailureInfo(): FailureInfo {
    return this.failure;
  }
}

type State = 'new' | 'idle' | 'awaiting-local-activities' | 'awaiting-completion' | 'closed' | 'failed' | 'disposed';

type ActivationFacts = Omit<Parameters<WorkflowSandbox['activate']>[0], 'jobs'>;

/**
 * One live workflow run inside a worker: its sandbox plus the bookkeeping that turns history
 * into activations and checks replayed commands against the history. This is the whole API
 * the worker uses for workflow and query tasks:
 *
 * ```ts
 * const run = WorkflowRun.create(factory, info);           // cache miss: a fresh sandbox
 * run.replay(historyUpToPreviousCompletedEventId);          // may throw NonDeterminismError, …
 * let result = run.activate(task.events, { timestamp: task.startedAt, historyLength,
 *                                          historySizeBytes, continueAsNewSuggested });
 * const commands = [];
 * while ('commands' in result) {
 *   commands.push(...result.commands);
 *   if (!result.localActivities?.length) break;
 *   result = run.resolveLocalActivities(await runLocally(result.localActivities));
 * }
 * if ('error' in result) { failWorkflowTask(result.kind, result.error); run.dispose(); }
 * else { const { completedEventId } = await completeWorkflowTask(commands);
 *        run.markCompleted(completedEventId); }                 // keep it cached
 * run.query('status', []);                                   // between tasks, or once closed
 * ```
 *
 * A cached run can take the next task directly when `run.lastCompletedEventId` equals the
 * task's `previousCompletedEventId`; otherwise dispose it and build a new one with `replay`.
 * After any failure (an error result, a thrown error, a completion the engine rejected) the
 * run's in-sandbox state is ahead of the history: dispose it.
 */
export class WorkflowRun {
  readonly info: WorkflowRunInfo;
  private readonly sandbox: WorkflowSandbox;
  private state: State = 'new';
  private _lastCompletedEventId = 0;
  /** Activity types by seq, to name the activity in the failures the workflow sees. */
  private readonly activityTypes = new Map<number, string>();
  private pendingClose = false;
  /** The facts of the live activation in progress (local-activity rounds reuse them). */
  private liveFacts: ActivationFacts | undefined;
  /** Local activities requested in the live activation and not resolved yet. */
  private readonly outstanding = new Set<number>();

  private constructor(sandbox: WorkflowSandbox) {
    this.sandbox = sandbox;
    this.info = sandbox.info;
  }

  /**
   * A new run in a fresh sandbox. Module top-level code of the workflow bundle runs now.
   * @throws WorkflowDeadlockError, or the error module top-level code threw.
   */
  static create(factory: WorkflowSandboxFactory, info: WorkflowRunInfo): WorkflowRun {
    return new WorkflowRun(factory.create(info));
  }

  /** Id of the last WorkflowTaskCompleted this run has applied (replayed or completed live); 0 before any. */
  get lastCompletedEventId(): number {
    return this._lastCompletedEventId;
  }

  /** True once the run produced a terminal command and that completion was recorded (or replayed). */
  get closed(): boolean {
    return this.state === 'closed';
  }

  /** True while the run can take another activation or completion. */
  get usable(): boolean {
    return this.state === 'new' || this.state === 'idle' || this.state === 'awaiting-local-activities' || this.state === 'awaiting-completion';
  }

  /** Seqs of the local activities the current live task still has to resolve. */
  get pendingLocalActivities(): readonly number[] {
    return [...this.outstanding];
  }

  /**
   * Replays every *completed* workflow task of `history` (each batch ending in a
   * WorkflowTaskCompleted), in a sandbox that has run nothing yet. Each batch is one
   * activation with `isReplaying: true`, workflow time = the batch's recorded `workflowTime`,
   * the history length, size and continue-as-new suggestion it saw then; patches and accepted
   * updates recorded in the batch are announced first. Local activities the code asks for
   * are answered from the batch's `core_local_activity` markers (never run). The commands of
   * every round must match the recorded command events. Input events after the last
   * completion are not applied: pass them to `activate`. Workflow logs are silent.
   *
   * Every error it throws has a `taskFailureCause` for `failWorkflowTask` and works with
   * `toFailureInfo`:
   * @throws NonDeterminismError (NON_DETERMINISM) when the code produces other commands than
   *   recorded, or asks for a local activity the batch has no marker for; WorkflowTaskError
   *   (WORKFLOW_ERROR or DEADLOCK) when a replayed activation fails; InvalidArgumentError for
   *   a malformed history. The run is then unusable.
   */
  replay(history: readonly HistoryEvent[]): ReplaySummary {
    this.expect(['new'], 'replay()');
    const { batches } = splitHistory(history);
    try {
      for (const batch of batches) {
        for (const event of batch.commandEvents) {
          if (event.eventType === 'ActivityTaskScheduled') this.activityTypes.set(event.attributes.seq, event.attributes.activityType);
        }
        const commands = this.replayBatch(batch);
        matchCommands(commands, batch.commandEvents, { extraCommandEventId: batch.completed.eventId });
        this._lastCompletedEventId = batch.completed.eventId;
        if (commands.some(isTerminalCommand)) this.state = 'closed';
      }
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
    if (this.state === 'new') this.state = 'idle';
    return { replayedBatches: batches.length, lastCompletedEventId: this._lastCompletedEventId };
  }

  /**
   * Runs one live workflow task over the events it has not seen yet (`WorkflowTask.events`:
   * WorkflowExecutionStarted for the first task, then inbox events) and returns the commands
   * to complete it with, or the failure to fail it with (`kind` is the task-failure cause).
   *
   * When the result lists `localActivities`, run them and call `resolveLocalActivities`
   * (repeatedly, while results list more), concatenating the commands of every result, before
   * completing the task. Call `markCompleted` once the engine accepted the completion.
   *
   * @throws Error when the run is not ready for an activation (closed, failed, disposed, or
   *   the previous activation was never marked completed); InvalidArgumentError when
   *   `events` holds a command event or a WorkflowTaskCompleted.
   */
  activate(events: ReadonlyArray<HistoryEvent | PendingEvent>, options: LiveActivationOptions): ActivationResult {
    this.expect(['new', 'idle'], 'activate()');
    this.liveFacts = {
      timestamp: options.timestamp,
      isReplaying: false,
      historyLength: options.historyLength,
      ...(options.historySizeBytes !== undefined ? { historySizeBytes: options.historySizeBytes } : {}),
      ...(options.continueAsNewSuggested !== undefined ? { continueAsNewSuggested: options.continueAsNewSuggested } : {}),
    };
    this.pendingClose = false;
    this.outstanding.clear();
    return this.liveRound(jobsFromEvents(events, this.jobsOptions()));
  }

  /**
   * Feeds the outcomes of local activities the last result asked for back into the workflow,
   * in a further activation of the same task (same workflow time), and returns what that
   * produced: more commands (the `core_local_activity` markers among them) and possibly more
   * local activities. Every requested seq must be resolved, in any number of calls, before
   * `markCompleted`.
   *
   * @throws Error when the run is not waiting for local activities, or a seq was not requested
   *   (or already resolved).
   */
  resolveLocalActivities(resolutions: readonly LocalActivityResolution[]): ActivationResult {
    this.expect(['awaiting-local-activities'], 'resolveLocalActivities()');
    for (const r of resolutions) {
      if (!this.outstanding.delete(r.seq)) {
        throw new Error(`WorkflowRun ${this.info.runId}: local activity seq ${r.seq} was not requested, or was resolved already (waiting for: ${[...this.outstanding].join(', ') || 'none'})`);
      }
    }
    return this.liveRound(resolutions.map((r) => ({ kind: 'ResolveLocalActivity', seq: r.seq, attempt: r.attempt, result: r.result })));
  }

  /**
   * Records that the engine appended the last activation's batch, ending with the
   * WorkflowTaskCompleted `completedEventId`. The run is then ready for the next task (or
   * closed, when the activation produced a terminal command).
   */
  markCompleted(completedEventId: number): void {
    this.expect(['awaiting-completion'], 'markCompleted()');
    if (!(completedEventId > this._lastCompletedEventId)) {
      throw new Error(`markCompleted(${completedEventId}): the run already applied event ${this._lastCompletedEventId}; completion ids must increase`);
    }
    this._lastCompletedEventId = completedEventId;
    this.state = this.pendingClose ? 'closed' : 'idle';
  }

  /**
   * Answers a query against the run's state after its last completed task: call it when the
   * run is idle (its last task was marked completed, or it was just replayed) or closed. It
   * changes nothing and records nothing. Never throws for workflow errors: an unknown query
   * type (the failure lists the registered ones), a throwing or async handler, or a handler
   * that issues commands is a `{ failure }` outcome. A handler that runs past the deadlock
   * timeout also breaks the run (`usable` false afterwards): dispose it.
   *
   * @throws Error when the run is in any other state (a task in progress, failed, disposed).
   */
  query(queryType: string, args: readonly unknown[]): QueryOutcome {
    this.expect(['idle', 'closed'], 'query()');
    const outcome = this.sandbox.query(queryType, args);
    if (!this.sandbox.usable) this.state = 'failed';
    return outcome;
  }

  /** Releases the sandbox. Idempotent; the run cannot be used afterwards. */
  dispose(): void {
    this.state = 'disposed';
    this.sandbox.dispose();
  }

  private liveRound(jobs: ActivationJob[]): ActivationResult {
    const result = this.sandbox.activate({ ...this.liveFacts!, jobs });
    if ('error' in result) {
      this.state = 'failed';
      return result;
    }
    this.remember(result.commands);
    if (result.commands.some(isTerminalCommand)) this.pendingClose = true;
    for (const request of result.localActivities ?? []) this.outstanding.add(request.seq);
    this.state = this.outstanding.size > 0 ? 'awaiting-local-activities' : 'awaiting-completion';
    return result;
  }

  /** One recorded batch: its activation plus the local-activity rounds its markers answer; all the commands. */
  private replayBatch(batch: HistoryBatch): WorkflowCommand[] {
    const facts: ActivationFacts = {
      timestamp: batch.completed.attributes.workflowTime,
      isReplaying: true,
      historyLength: batchHistoryLength(batch),
      historySizeBytes: batch.completed.attributes.historySizeBytes ?? 0,
      continueAsNewSuggested: batch.completed.attributes.continueAsNewSuggested ?? false,
    };
    const commands: WorkflowCommand[] = [];
    let jobs: ActivationJob[] = replayJobs(batch, this.jobsOptions());
    for (;;) {
      const result = this.sandbox.activate({ ...facts, jobs });
      if ('error' in result) throw new WorkflowTaskError(result.kind, result.error, batch.completed.eventId);
      commands.push(...result.commands);
      jobs = answerLocalActivities(result.localActivities ?? [], batch);
      if (jobs.length === 0) return commands;
    }
  }

  private jobsOptions(): JobsOptions {
    return { activityTypeOf: (seq) => this.activityTypes.get(seq), namespace: this.info.namespace };
  }

  private remember(commands: readonly WorkflowCommand[]): void {
    for (const command of commands) {
      if (command.kind === 'ScheduleActivity') this.activityTypes.set(command.seq, command.activityType);
    }
  }

  private expect(states: readonly State[], what: string): void {
    if (states.includes(this.state)) return;
    const why: Record<State, string> = {
      new: 'it has not run anything yet',
      idle: 'it is waiting for the next workflow task',
      'awaiting-local-activities': `its last activation asked for local activities (seqs ${[...this.outstanding].join(', ')}); resolve them first`,
      'awaiting-completion': 'its last activation was never marked completed (call markCompleted, or dispose the run when the completion failed)',
      closed: 'the workflow has closed',
      failed: 'an earlier activation (or query) failed; dispose it and replay into a new run',
      disposed: 'it was disposed',
    };
    throw new Error(`WorkflowRun ${this.info.runId}: cannot ${what}: ${why[this.state]}`);
  }
}
