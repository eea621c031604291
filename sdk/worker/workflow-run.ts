import type { WorkflowRunInfo } from '../../engine/protocol/activation.js';
import { isTerminalCommand, type WorkflowCommand } from '../../engine/protocol/commands.js';
import type { HistoryEvent, PendingEvent } from '../../engine/protocol/events.js';
import type { FailureInfo, FailureInfoCarrier } from '../../engine/protocol/failures.js';
import { batchHistoryLength, splitHistory } from './replay/history-batches.js';
import { jobsFromEvents } from './replay/jobs.js';
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
   */
  readonly historyLength: number;
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

type State = 'new' | 'idle' | 'awaiting-completion' | 'closed' | 'failed' | 'disposed';

/**
 * One live workflow run inside a worker: its sandbox plus the bookkeeping that turns history
 * into activations and checks replayed commands against the history. This is the whole API
 * the worker uses for workflow tasks:
 *
 * ```ts
 * const run = WorkflowRun.create(factory, info);           // cache miss: a fresh sandbox
 * run.replay(historyUpToPreviousCompletedEventId);          // may throw NonDeterminismError, …
 * const result = run.activate(task.events, { timestamp: task.startedAt, historyLength });
 * if ('error' in result) { failWorkflowTask(result.kind, result.error); run.dispose(); }
 * else { const { completedEventId } = await completeWorkflowTask(result.commands);
 *        run.markCompleted(completedEventId); }                 // keep it cached
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
    return this.state === 'new' || this.state === 'idle' || this.state === 'awaiting-completion';
  }

  /**
   * Replays every *completed* workflow task of `history` (each batch ending in a
   * WorkflowTaskCompleted), in a sandbox that has run nothing yet. Each batch is one
   * activation with `isReplaying: true`, workflow time = the batch's recorded `workflowTime`
   * and the history length it saw then; its commands must match the recorded command events.
   * Input events after the last completion are not applied: pass them to `activate`.
   * Workflow logs are silent during replay.
   *
   * Every error it throws has a `taskFailureCause` for `failWorkflowTask` and works with
   * `toFailureInfo`:
   * @throws NonDeterminismError (NON_DETERMINISM) when the code produces other commands than
   *   recorded; WorkflowTaskError (WORKFLOW_ERROR or DEADLOCK) when a replayed activation
   *   fails; InvalidArgumentError for a malformed history. The run is then unusable.
   */
  replay(history: readonly HistoryEvent[]): ReplaySummary {
    this.expect(['new'], 'replay()');
    const { batches } = splitHistory(history);
    try {
      for (const batch of batches) {
        for (const event of batch.commandEvents) {
          if (event.eventType === 'ActivityTaskScheduled') this.activityTypes.set(event.attributes.seq, event.attributes.activityType);
        }
        const result = this.sandbox.activate({
          timestamp: batch.completed.attributes.workflowTime,
          isReplaying: true,
          historyLength: batchHistoryLength(batch),
          jobs: jobsFromEvents(batch.inputs, { activityTypeOf: (seq) => this.activityTypes.get(seq) }),
        });
        if ('error' in result) throw new WorkflowTaskError(result.kind, result.error, batch.completed.eventId);
        matchCommands(result.commands, batch.commandEvents, { extraCommandEventId: batch.completed.eventId });
        this._lastCompletedEventId = batch.completed.eventId;
        if (result.commands.some(isTerminalCommand)) this.state = 'closed';
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
   * Call `markCompleted` once the engine accepted the completion.
   *
   * @throws Error when the run is not ready for an activation (closed, failed, disposed, or
   *   the previous activation was never marked completed); InvalidArgumentError when
   *   `events` holds a command event or a WorkflowTaskCompleted.
   */
  activate(events: ReadonlyArray<HistoryEvent | PendingEvent>, options: LiveActivationOptions): ActivationResult {
    this.expect(['new', 'idle'], 'activate()');
    const jobs = jobsFromEvents(events, { activityTypeOf: (seq) => this.activityTypes.get(seq) });
    const result = this.sandbox.activate({ timestamp: options.timestamp, isReplaying: false, historyLength: options.historyLength, jobs });
    if ('error' in result) {
      this.state = 'failed';
      return result;
    }
    this.remember(result.commands);
    this.pendingClose = result.commands.some(isTerminalCommand);
    this.state = 'awaiting-completion';
    return result;
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

  /** Releases the sandbox. Idempotent; the run cannot be used afterwards. */
  dispose(): void {
    this.state = 'disposed';
    this.sandbox.dispose();
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
      'awaiting-completion': 'its last activation was never marked completed (call markCompleted, or dispose the run when the completion failed)',
      closed: 'the workflow has closed',
      failed: 'an earlier activation failed; dispose it and replay into a new run',
      disposed: 'it was disposed',
    };
    throw new Error(`WorkflowRun ${this.info.runId}: cannot ${what}: ${why[this.state]}`);
  }
}
