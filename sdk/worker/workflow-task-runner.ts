import type { Engine } from '../../engine/engine.js';
import { InvalidArgumentError, StaleTaskError } from '../../engine/errors.js';
import { failpoint } from '../../engine/failpoints.js';
import type { Logger } from '../../engine/logger.js';
import {
  INBOX_ONLY_EVENT_TYPES,
  toFailureInfo,
  type ActivityTask,
  type HistoryEvent,
  type WorkflowCommand,
  type WorkflowRunInfo,
  type WorkflowTask,
  type WorkflowTaskFailure,
} from '../../engine/protocol/index.js';
import type { ActivityFunction } from './activity-runner.js';
import type { BusyRuns } from './busy-runs.js';
import { fetchFullHistory } from './history-fetch.js';
import { LongHistoryWarnings } from './history-warnings.js';
import { runLocalActivities } from './local-activities.js';
import { NonDeterminismError } from './replay/matcher.js';
import type { WorkflowSandboxFactory } from './sandbox.js';
import type { Slots } from './slots.js';
import type { WorkflowCache } from './workflow-cache.js';
import { WorkflowRun, type ActivationResult, type LiveActivationOptions } from './workflow-run.js';

/** Most activities one workflow-task completion may lease to its worker eagerly. */
export const MAX_EAGER_ACTIVITIES = 20;

/**
 * The share of a workflow task's timeout its local activities may take, all rounds together:
 * they run inside the task, so they must end well before its lease runs out.
 */
const LOCAL_ACTIVITY_SHARE = 0.7;
const DEFAULT_WORKFLOW_TASK_TIMEOUT_MS = 10_000;

/** History size facts of a run's last workflow task, as the engine reported them. */
export interface HistoryFacts {
  readonly historySizeBytes: number;
  readonly continueAsNewSuggested: boolean;
}

/**
 * What the claimed-task path tells the speculative path (speculation.ts), which runs later
 * activations on cached runs without a claimed task and must estimate what a claim carries.
 */
export interface SpeculationHints {
  /** A task was claimed: its `startedAt` is the database's clock. */
  claimed(startedAt: number): void;
  /** A run goes back into the cache, its last task at `workflowTime` with these facts. */
  cached(run: WorkflowRun, workflowTime: number, facts: HistoryFacts): void;
}

/** The worker's counters this path moves (a subset of `Worker.stats`). */
export interface WorkflowTaskStats {
  workflowTasksCompleted: number;
  workflowTasksFailed: number;
  replays: number;
  completionsRejected: number;
  localActivitiesCompleted: number;
}

export interface WorkflowTaskRunnerOptions {
  readonly engine: Engine;
  /** Undefined when the worker has no workflow code (it then only fails unknown types). */
  readonly sandboxes: WorkflowSandboxFactory | undefined;
  /** The sticky cache, shared with queries and speculations. */
  readonly cache: WorkflowCache<WorkflowRun>;
  readonly busyRuns: BusyRuns;
  /** Activity slots, offered to completions for eager activity dispatch. */
  readonly actSlots: Slots;
  /** The worker's activities: local activities run them, and eager dispatch needs some. */
  readonly activities: Readonly<Record<string, ActivityFunction>>;
  readonly identity: string;
  readonly log: Logger;
  /** Workflow types the bundle exports. */
  readonly workflowTypes: readonly string[];
  /** Where the workflow code came from, for the message of an unknown workflow type. */
  readonly workflowsPath: string | undefined;
  readonly stats: WorkflowTaskStats;
  /** True while the worker polls: eager activities are taken only then. */
  readonly isPolling: () => boolean;
  /** Runs an eagerly leased activity attempt in the activity slot reserved for it. */
  readonly startActivity: (task: ActivityTask) => void;
  readonly speculation: SpeculationHints;
  /** Warns once per run when its history passes the engine's warning threshold. */
  readonly historyWarnings: LongHistoryWarnings;
}

/**
 * Runs claimed workflow tasks: takes the run from the sticky cache (or rebuilds it by
 * replay), activates it with the task's new events, runs its local activities, completes the
 * task (leasing the activities it schedules on our queue eagerly) and puts the run back in
 * the cache; or fails the task so the engine retries it.
 */
export class WorkflowTaskRunner {
  constructor(private readonly opts: WorkflowTaskRunnerOptions) {}

  /** Runs one claimed task in a workflow-task slot the caller holds; its failures go to the engine. */
  async run(task: WorkflowTask): Promise<void> {
    const { engine, cache, busyRuns, actSlots, identity, log, stats, workflowTypes } = this.opts;
    let run: WorkflowRun | undefined;
    const meta = { workflowId: task.workflowId, runId: task.runId, workflowType: task.workflowType, attempt: task.attempt };
    // A run being processed here already (its lease expired and came back to us, or a
    // speculation is in flight) must not share its state with this task.
    const busyElsewhere = busyRuns.has(task.runId);
    busyRuns.add(task.runId);
    try {
      if (!workflowTypes.includes(task.workflowType)) {
        await engine.failWorkflowTask(task.taskToken, {
          cause: 'WORKFLOW_ERROR',
          identity,
          failure: {
            failureType: 'application',
            type: 'WorkflowTypeNotFound',
            message: `Workflow type '${task.workflowType}' is not exported by ${this.opts.workflowsPath ?? 'the workflow bundle'} of worker ${identity}; exported: ${workflowTypes.join(', ') || 'none'}`,
          },
        });
        return;
      }
      const cached = busyElsewhere ? undefined : cache.take(task.runId);
      if (cached && cached.lastCompletedEventId === task.previousCompletedEventId) {
        run = cached;
      } else {
        cached?.dispose();
        run = await this.rebuildRun(task);
      }
      this.opts.speculation.claimed(task.startedAt);
      const facts = { historySizeBytes: task.historySizeBytes, continueAsNewSuggested: task.continueAsNewSuggested };
      this.opts.historyWarnings.note(run, facts, { ...meta, historyLength: task.historyLength });
      const live: LiveActivationOptions = { timestamp: task.startedAt, historyLength: task.historyLength + countRecordedPending(task), ...facts };
      const result = await this.activateWithLocalActivities(run, task.events, live, task.workflowTaskTimeoutMs);
      if ('error' in result) {
        log.warn('workflow task failed; it will be retried', { ...meta, kind: result.kind, message: result.error.message });
        stats.workflowTasksFailed++;
        await engine.failWorkflowTask(task.taskToken, { cause: result.kind, failure: result.error, identity });
        run.dispose();
        run = undefined;
        return;
      }
      await failpoint('wft.beforeCommit');
      // Eager dispatch: offer free activity slots so the activities this task schedules on
      // our own queue are leased to us in the same transaction instead of claimed later.
      const schedules = result.commands.filter((c) => c.kind === 'ScheduleActivity').length;
      const eagerSlots =
        this.opts.isPolling() && Object.keys(this.opts.activities).length ? Math.max(0, Math.min(schedules, actSlots.free, MAX_EAGER_ACTIVITIES)) : 0;
      actSlots.acquire(eagerSlots);
      let done;
      try {
        done = await engine.completeWorkflowTask(task.taskToken, {
          commands: result.commands,
          workflowTime: task.startedAt,
          identity,
          eagerActivitySlots: eagerSlots,
          ...facts,
        });
      } catch (err) {
        actSlots.release(eagerSlots);
        throw err;
      }
      const eager = done.eagerActivityTasks ?? [];
      actSlots.release(eagerSlots - eager.length);
      for (const a of eager) this.opts.startActivity(a);
      await failpoint('wft.afterCommit');
      if (done.rejected) {
        // A signal or update arrived while this task was closing the run: nothing was
        // recorded and the task is pending again with it; our copy has moved past history.
        stats.completionsRejected++;
        log.debug('closing completion rejected: new events arrived; the task runs again', { ...meta });
        run.dispose();
      } else if (done.closed) {
        stats.workflowTasksCompleted++;
        run.dispose();
      } else {
        stats.workflowTasksCompleted++;
        run.markCompleted(done.completedEventId);
        // What the next activation without a claim (a speculation) must see: the history
        // after this completion, which the engine reports.
        const after =
          done.historySizeBytes !== undefined
            ? { historySizeBytes: done.historySizeBytes, continueAsNewSuggested: done.continueAsNewSuggested ?? facts.continueAsNewSuggested }
            : facts;
        this.opts.speculation.cached(run, task.startedAt, after);
        cache.put(task.runId, run);
      }
      run = undefined;
    } catch (err) {
      run?.dispose();
      run = undefined;
      if (err instanceof StaleTaskError) {
        log.warn('workflow task result dropped: the task lost its lease or the run closed', { ...meta });
        return;
      }
      const nde = err instanceof NonDeterminismError;
      // The engine refused a command (InvalidArgumentError from completeWorkflowTask): the
      // workflow asked for something invalid; retrying the same code will not help.
      const badCommand = err instanceof InvalidArgumentError;
      const cause =
        (err as { taskFailureCause?: WorkflowTaskFailure['cause'] }).taskFailureCause ??
        (nde ? 'NON_DETERMINISM' : badCommand ? 'BAD_COMMAND' : 'WORKFLOW_ERROR');
      stats.workflowTasksFailed++;
      log.error(nde ? 'non-determinism: the workflow code does not match its history' : 'workflow task failed', { ...meta, error: err });
      await engine
        .failWorkflowTask(task.taskToken, {
          cause,
          failure: toFailureInfo(err),
          identity,
        })
        .catch((e) => {
          if (!(e instanceof StaleTaskError)) log.error('could not report the workflow task failure; its lease will expire', { ...meta, error: e });
        });
    } finally {
      busyRuns.delete(task.runId);
    }
  }

  /**
   * One live activation, plus as many rounds as its local activities need: they run here,
   * within the task, and their outcomes go back to the workflow as further activations of the
   * same task. The commands of every round are completed together.
   */
  private async activateWithLocalActivities(
    run: WorkflowRun,
    events: WorkflowTask['events'],
    live: LiveActivationOptions,
    taskTimeoutMs = DEFAULT_WORKFLOW_TASK_TIMEOUT_MS,
  ): Promise<ActivationResult> {
    let result = run.activate(events, live);
    const commands: WorkflowCommand[] = [];
    const deadline = Date.now() + taskTimeoutMs * LOCAL_ACTIVITY_SHARE;
    while (!('error' in result)) {
      commands.push(...result.commands);
      const requests = result.localActivities ?? [];
      if (requests.length === 0) return { commands };
      const resolutions = await runLocalActivities(requests, {
        run: run.info,
        activities: this.opts.activities,
        identity: this.opts.identity,
        log: this.opts.log,
        deadline,
      });
      this.opts.stats.localActivitiesCompleted += resolutions.length;
      result = run.resolveLocalActivities(resolutions);
    }
    return result;
  }

  /** A cache miss: a new sandbox, and a replay of the history up to the last completed task. */
  private async rebuildRun(task: WorkflowTask): Promise<WorkflowRun> {
    let history: HistoryEvent[] = [];
    if (task.previousCompletedEventId > 0) {
      history = await fetchFullHistory(this.opts.engine, { workflowId: task.workflowId, runId: task.runId }, task.previousCompletedEventId);
      this.opts.stats.replays++;
    }
    const started = (history[0] ?? task.events[0]) as HistoryEvent | undefined;
    const info: WorkflowRunInfo = {
      namespace: task.namespace,
      workflowId: task.workflowId,
      runId: task.runId,
      workflowType: task.workflowType,
      taskQueue: task.taskQueue,
      startTime: started && 'timestamp' in started ? started.timestamp : task.startedAt,
    };
    const run = WorkflowRun.create(this.opts.sandboxes!, info);
    try {
      if (history.length) run.replay(history);
    } catch (err) {
      run.dispose();
      throw err;
    }
    return run;
  }
}

const INBOX_ONLY: ReadonlySet<string> = new Set(INBOX_ONLY_EVENT_TYPES);

/** Pending events the completion will append to history (update admissions never are). */
function countRecordedPending(task: WorkflowTask): number {
  return task.events.filter((e) => !('eventId' in e) && !INBOX_ONLY.has(e.eventType)).length;
}
