import type { ActivityAndWorkflowTaskCompletionResult } from '../../engine/engine.js';
import { canonicalJson } from '../../engine/canonical-json.js';
import type { ActivityTask, WorkflowTask } from '../../engine/protocol/index.js';
import type { SpeculativeWorkflowTask } from './activity-runner.js';
import type { BusyRuns } from './busy-runs.js';
import type { LongHistoryWarnings } from './history-warnings.js';
import type { Slots } from './slots.js';
import type { WorkflowCache } from './workflow-cache.js';
import type { ActivationResult, WorkflowRun } from './workflow-run.js';
import { MAX_EAGER_ACTIVITIES, type HistoryFacts, type SpeculationHints } from './workflow-task-runner.js';

/** A speculative workflow task, with the cached run it was run on (owned until `finish`). */
export interface Speculation extends SpeculativeWorkflowTask {
  readonly run: WorkflowRun;
  readonly runId: string;
}

/** The worker's counters this path moves (a subset of `Worker.stats`). */
export interface SpeculationStats {
  workflowTasksCompleted: number;
  speculationsApplied: number;
  speculationsAbandoned: number;
}

export interface SpeculatorOptions {
  /** False when the worker has no workflow code: there is nothing to speculate with. */
  readonly runsWorkflows: boolean;
  /** The sticky cache, shared with the claimed-task path and queries. */
  readonly cache: WorkflowCache<WorkflowRun>;
  readonly busyRuns: BusyRuns;
  /** A speculation holds a workflow-task slot from `prepare` to `finish`. */
  readonly wftSlots: Slots;
  /** Activity slots, offered to the combined commit for eager activity dispatch. */
  readonly actSlots: Slots;
  readonly identity: string;
  readonly taskQueue: string;
  readonly stats: SpeculationStats;
  /** True while the worker polls: no new speculation starts otherwise. */
  readonly isPolling: () => boolean;
  /** Runs an eagerly leased activity attempt in the activity slot reserved for it. */
  readonly startActivity: (task: ActivityTask) => void;
  /** Warns once per run when its history passes the engine's warning threshold. */
  readonly historyWarnings: LongHistoryWarnings;
  /** Runs a claimed workflow task (the ordinary path); the caller releases its slot after. */
  readonly runWorkflowTask: (task: WorkflowTask) => Promise<void>;
}

/**
 * The one-commit path: runs the workflow over an activity's result on the cached copy of its
 * run, so that the result and the workflow task it unblocks are recorded together, then
 * settles that copy with the engine's answer. Keeps what a claimed task would have told the
 * run and a speculation has to estimate: workflow time and the history size facts.
 */
export class Speculator implements SpeculationHints {
  /** Database clock minus this process's clock, from the last claimed workflow task. */
  private dbClockOffsetMs = 0;
  private readonly workflowTimes = new WeakMap<WorkflowRun, number>();
  /** History size facts of each cached run's last task, handed to speculative activations. */
  private readonly historyFacts = new WeakMap<WorkflowRun, HistoryFacts>();

  constructor(private readonly opts: SpeculatorOptions) {}

  /** A task was claimed: its `startedAt` sets the estimate of the database's clock. */
  claimed(startedAt: number): void {
    this.dbClockOffsetMs = startedAt - Date.now();
  }

  /** A claimed task put `run` back in the cache: a speculation on it starts from these. */
  cached(run: WorkflowRun, workflowTime: number, facts: HistoryFacts): void {
    this.workflowTimes.set(run, workflowTime);
    this.historyFacts.set(run, facts);
  }

  /**
   * Runs the workflow over an activity's result on the cached copy of its run, so that the
   * result and the workflow task it unblocks are recorded in one commit. Only when the run is
   * cached here, idle, and a workflow-task slot is free; the engine applies it only if nothing
   * else happened to the run meanwhile.
   */
  prepare(task: ActivityTask, result: unknown): Speculation | undefined {
    const { cache, busyRuns, wftSlots, actSlots } = this.opts;
    if (!this.opts.runsWorkflows || !this.opts.isPolling() || busyRuns.has(task.runId) || wftSlots.free <= 0) return undefined;
    const run = cache.peek(task.runId);
    if (!run) return undefined;
    cache.take(task.runId);
    wftSlots.acquire();
    busyRuns.add(task.runId);
    const previousCompletedEventId = run.lastCompletedEventId;
    // Workflow time is database time, estimated from the last claim, and never goes backwards.
    const workflowTime = Math.max(Date.now() + this.dbClockOffsetMs, this.workflowTimes.get(run) ?? 0);
    const facts = this.historyFacts.get(run) ?? { historySizeBytes: 0, continueAsNewSuggested: false };
    let activation: ActivationResult;
    try {
      // The workflow must see the result as it will read back from jsonb, on replay too.
      const stored = canonicalJson(result);
      activation = run.activate(
        [{ eventType: 'ActivityTaskCompleted', attributes: { seq: Number(task.activityId), result: stored, attempt: task.attempt, identity: this.opts.identity } }],
        { timestamp: workflowTime, historyLength: previousCompletedEventId + 1, ...facts },
      );
    } catch {
      // A result JSON cannot carry: the ordinary path reports it as the attempt's failure.
      activation = { kind: 'WORKFLOW_ERROR', error: { failureType: 'application', message: 'result is not JSON' } };
    }
    if ('error' in activation || activation.localActivities?.length) {
      // The ordinary path will run this activation again (and fail the task properly, or
      // run the local activities inside a claimed task).
      run.dispose();
      busyRuns.delete(task.runId);
      wftSlots.release();
      return undefined;
    }
    const schedules = activation.commands.filter((c) => c.kind === 'ScheduleActivity').length;
    const eagerActivitySlots = Math.max(0, Math.min(schedules, actSlots.free, MAX_EAGER_ACTIVITIES));
    actSlots.acquire(eagerActivitySlots);
    return {
      run,
      runId: task.runId,
      previousCompletedEventId,
      workflowTime,
      commands: activation.commands,
      eagerActivitySlots,
      eagerWorkflowTaskQueue: this.opts.taskQueue,
      ...facts,
    };
  }

  /** Settles a prepared speculation with the engine's answer (undefined when the call failed). */
  finish(spec: Speculation, outcome: ActivityAndWorkflowTaskCompletionResult | undefined): void {
    const { cache, busyRuns, wftSlots, actSlots, stats } = this.opts;
    const eagerActivities = outcome?.applied ? (outcome.eagerActivityTasks ?? []) : [];
    actSlots.release(spec.eagerActivitySlots - eagerActivities.length);
    busyRuns.delete(spec.runId);
    if (outcome?.applied) {
      stats.workflowTasksCompleted++;
      stats.speculationsApplied++;
      if (outcome.closed) {
        spec.run.dispose();
      } else {
        spec.run.markCompleted(outcome.completedEventId);
        this.workflowTimes.set(spec.run, spec.workflowTime);
        // The history after this commit, as the engine reports it: without it a loop of
        // activities on this path would never see continueAsNewSuggested turn true.
        const facts = {
          historySizeBytes: outcome.historySizeBytes ?? spec.historySizeBytes ?? 0,
          continueAsNewSuggested: outcome.continueAsNewSuggested ?? spec.continueAsNewSuggested ?? false,
        };
        this.historyFacts.set(spec.run, facts);
        this.opts.historyWarnings.note(spec.run, facts, { historyLength: outcome.completedEventId });
        cache.put(spec.runId, spec.run);
      }
      wftSlots.release();
      for (const a of eagerActivities) this.opts.startActivity(a);
      return;
    }
    // Not applied (or unknown): the cached copy has moved past what is recorded; drop it.
    stats.speculationsAbandoned++;
    spec.run.dispose();
    if (outcome && !outcome.applied && outcome.eagerWorkflowTask) {
      void this.opts.runWorkflowTask(outcome.eagerWorkflowTask).finally(() => wftSlots.release());
    } else {
      wftSlots.release();
    }
  }
}
