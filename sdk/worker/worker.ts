import type { ActivityAndWorkflowTaskCompletionResult, Engine } from '../../engine/engine.js';
import { InvalidArgumentError, ShuttingDownError, StaleTaskError } from '../../engine/errors.js';
import { failpoint } from '../../engine/failpoints.js';
import { consoleLogger, type Logger } from '../../engine/logger.js';
import { PgEngine, defaultIdentity } from '../../engine/pg-engine.js';
import {
  INBOX_ONLY_EVENT_TYPES,
  toFailureInfo,
  type ActivityTask,
  type HistoryEvent,
  type QueryTask,
  type WorkflowCommand,
  type WorkflowRunInfo,
  type WorkflowTask,
  type WorkflowTaskFailure,
} from '../../engine/protocol/index.js';
import { parseDuration } from '../../engine/protocol/durations.js';
import { canonicalJson } from '../../engine/canonical-json.js';
import { ActivityRunner, type ActivityFunction, type SpeculativeWorkflowTask } from './activity-runner.js';
import { bundleWorkflowCode, type WorkflowBundle } from './bundler.js';
import type { NativeConnection } from './connection.js';
import { fetchFullHistory } from './history-fetch.js';
import { runLocalActivities } from './local-activities.js';
import { QueryAnswerer } from './query-answerer.js';
import { NonDeterminismError } from './replay/matcher.js';
import { createSandboxFactory } from './sandbox.js';
import { Slots } from './slots.js';
import { WorkflowCache } from './workflow-cache.js';
import { WorkflowRun, type ActivationResult, type LiveActivationOptions } from './workflow-run.js';

export interface WorkerOptions {
  /** How to reach Chronicle: a NativeConnection, or a `databaseUrl` (the worker then owns the connection). */
  readonly connection?: NativeConnection | { readonly engine: Engine };
  readonly databaseUrl?: string;
  readonly taskQueue: string;
  /** Path of the module exporting the workflow functions (TypeScript or JavaScript). */
  readonly workflowsPath?: string;
  /** A bundle made earlier by `bundleWorkflowCode` (instead of `workflowsPath`). */
  readonly workflowBundle?: WorkflowBundle;
  /**
   * Activity implementations by name: each function-valued property is registered under its
   * key (the activity type), so `import * as activities from './activities.js'` works;
   * other exports (constants, helpers that are not functions) are ignored.
   */
  readonly activities?: object;
  /** Default 100. */
  readonly maxConcurrentActivityTaskExecutions?: number;
  /** Default 40. */
  readonly maxConcurrentWorkflowTaskExecutions?: number;
  /** Queries answered at once (each may replay a history). Default 8. */
  readonly maxConcurrentQueryExecutions?: number;
  /** Runs kept in memory between tasks (the sticky cache). Default 1000; 0 disables. */
  readonly maxCachedWorkflows?: number;
  /** Default `pid@hostname`. */
  readonly identity?: string;
  /** How long `shutdown()` lets running activities finish before aborting them. Default '10s'. */
  readonly shutdownGraceTime?: number | string;
  /** How long workflow code may run without yielding before the task fails. Default '2s'. */
  readonly deadlockTimeout?: number | string;
  /**
   * Run the engine's timer and lease-reaper loops in this process. Default true whenever
   * the worker talks to PostgreSQL directly: they are safe to run in every process at once,
   * and without them in some process, timers never fire and lost leases are never recovered.
   */
  readonly runEngineLoops?: boolean;
  readonly logger?: Logger;
}

export type WorkerState = 'INITIALIZED' | 'RUNNING' | 'STOPPING' | 'STOPPED';

/**
 * Polls a task queue and runs its workflow tasks (in a deterministic sandbox, with a sticky
 * cache of live runs) and activity tasks (with heartbeats and timeouts). Temporal's API:
 * `Worker.create(options)`, `run()`, `shutdown()`, `runUntil(promise)`.
 */
export class Worker {
  readonly options: WorkerOptions;
  readonly identity: string;
  readonly taskQueue: string;
  private readonly engine: Engine;
  private readonly ownsEngine: boolean;
  private readonly log: Logger;
  private readonly bundle: WorkflowBundle | undefined;
  private readonly sandboxes: ReturnType<typeof createSandboxFactory> | undefined;
  private readonly cache: WorkflowCache<WorkflowRun>;
  /** Runs being worked on here, with how many paths hold each (a speculation and a claimed task can overlap). */
  private readonly busyRuns = new BusyRuns();
  private readonly wftSlots: Slots;
  private readonly actSlots: Slots;
  private readonly querySlots: Slots;
  private readonly activityRunner: ActivityRunner;
  private readonly queries: QueryAnswerer | undefined;
  private readonly stopPolling = new AbortController();
  private readonly graceMs: number;
  private readonly activities: Readonly<Record<string, ActivityFunction>>;
  private runPromise: Promise<void> | undefined;
  private _state: WorkerState = 'INITIALIZED';
  /** Counters for tests and metrics. */
  readonly stats = {
    workflowTasksCompleted: 0,
    workflowTasksFailed: 0,
    activitiesCompleted: 0,
    replays: 0,
    /** Activity results committed together with the workflow task they unblocked. */
    speculationsApplied: 0,
    /** Speculative workflow tasks dropped because something else happened to the run. */
    speculationsAbandoned: 0,
    /** Closing completions the engine refused because a signal or update arrived meanwhile. */
    completionsRejected: 0,
    localActivitiesCompleted: 0,
    queriesAnswered: 0,
  };
  /** Database clock minus this process's clock, from the last claimed workflow task. */
  private dbClockOffsetMs = 0;
  private readonly workflowTimes = new WeakMap<WorkflowRun, number>();
  /** History size facts of each cached run's last task, handed to speculative activations. */
  private readonly historyFacts = new WeakMap<WorkflowRun, { historySizeBytes: number; continueAsNewSuggested: boolean }>();

  private constructor(options: WorkerOptions, engine: Engine, ownsEngine: boolean, bundle: WorkflowBundle | undefined) {
    this.options = options;
    this.engine = engine;
    this.ownsEngine = ownsEngine;
    this.taskQueue = options.taskQueue;
    this.identity = options.identity ?? defaultIdentity();
    this.log = options.logger ?? consoleLogger();
    this.bundle = bundle;
    this.sandboxes = bundle
      ? createSandboxFactory(bundle, { deadlockTimeoutMs: parseDuration(options.deadlockTimeout ?? '2s', 'deadlockTimeout'), logger: this.log } as never)
      : undefined;
    this.cache = new WorkflowCache(options.maxCachedWorkflows ?? 1000);
    this.wftSlots = new Slots(options.maxConcurrentWorkflowTaskExecutions ?? 40);
    this.actSlots = new Slots(options.maxConcurrentActivityTaskExecutions ?? 100);
    this.querySlots = new Slots(options.maxConcurrentQueryExecutions ?? 8);
    this.queries = this.sandboxes
      ? new QueryAnswerer({ engine, sandboxes: this.sandboxes, log: this.log, idleCachedRun: (runId) => this.idleCachedRun(runId), evict: (runId) => this.cache.take(runId)?.dispose() })
      : undefined;
    this.graceMs = parseDuration(options.shutdownGraceTime ?? '10s', 'shutdownGraceTime');
    this.activities = registeredActivities(options.activities);
    this.activityRunner = new ActivityRunner({
      engine,
      activities: this.activities,
      identity: this.identity,
      log: this.log,
      speculation: {
        prepare: (task, result) => this.prepareSpeculation(task, result),
        finish: (spec, outcome) => this.finishSpeculation(spec as Speculation, outcome),
      },
      eagerWorkflowTasks: {
        reserve: () => {
          if (!this.sandboxes || !this.polling || this.wftSlots.free <= 0) return undefined;
          this.wftSlots.acquire();
          return this.taskQueue;
        },
        release: () => this.wftSlots.release(),
        run: (task) => void this.runWorkflowTask(task).finally(() => this.wftSlots.release()),
      },
    });
  }

  /** Validates options, bundles the workflow code and connects. Nothing polls until `run()`. */
  static async create(options: WorkerOptions): Promise<Worker> {
    if (!options || typeof options.taskQueue !== 'string' || !options.taskQueue) {
      throw new InvalidArgumentError('taskQueue', 'is required: the task queue this worker polls, e.g. { taskQueue: "orders" }');
    }
    if (!options.workflowsPath && !options.workflowBundle && !options.activities) {
      throw new InvalidArgumentError('workflowsPath', 'a worker needs workflowsPath (or workflowBundle), activities, or both');
    }
    if (options.activities !== undefined && (typeof options.activities !== 'object' || options.activities === null)) {
      throw new InvalidArgumentError('activities', 'must be an object of activity functions, e.g. import * as activities from "./activities.js"');
    }
    for (const k of ['maxConcurrentActivityTaskExecutions', 'maxConcurrentWorkflowTaskExecutions', 'maxConcurrentQueryExecutions'] as const) {
      const v = options[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new InvalidArgumentError(k, `must be a positive integer, got ${v}`);
    }
    const bundle = options.workflowBundle ?? (options.workflowsPath ? await bundleWorkflowCode({ workflowsPath: options.workflowsPath }) : undefined);
    let engine: Engine;
    let owns = false;
    if (options.connection) {
      engine = options.connection.engine;
    } else {
      const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
      if (!databaseUrl) throw new InvalidArgumentError('connection', 'pass a NativeConnection, a databaseUrl, or set DATABASE_URL');
      engine = await PgEngine.connect({ databaseUrl, ...(options.logger ? { logger: options.logger } : {}) });
      owns = true;
    }
    const worker = new Worker(options, engine, owns, bundle);
    if ((options.runEngineLoops ?? true) && engine instanceof PgEngine) engine.startBackgroundLoops();
    return worker;
  }

  private get polling(): boolean {
    return this._state === 'RUNNING' && !this.stopPolling.signal.aborted;
  }

  /**
   * Replays a stored history against workflow code, without a database: throws
   * NonDeterminismError (naming the event and both commands) when today's code would not
   * produce the recorded commands, or the workflow task failure a replayed activation hit.
   * Use it in CI on histories exported from production before deploying new workflow code.
   * Temporal's `Worker.runReplayHistory`.
   */
  static async runReplayHistory(
    options: { readonly workflowsPath?: string; readonly workflowBundle?: WorkflowBundle },
    history: readonly HistoryEvent[] | { readonly events: readonly HistoryEvent[] },
  ): Promise<{ replayedWorkflowTasks: number; lastCompletedEventId: number }> {
    const events = Array.isArray(history) ? (history as readonly HistoryEvent[]) : (history as { events: readonly HistoryEvent[] }).events;
    const started = events[0];
    if (!started || started.eventType !== 'WorkflowExecutionStarted') {
      throw new InvalidArgumentError('history', 'must start with WorkflowExecutionStarted (event 1); pass the events of handle.fetchHistory()');
    }
    if (!options.workflowBundle && !options.workflowsPath) throw new InvalidArgumentError('workflowsPath', 'is required to replay a history');
    const bundle = options.workflowBundle ?? (await bundleWorkflowCode({ workflowsPath: options.workflowsPath! }));
    const run = WorkflowRun.create(createSandboxFactory(bundle), {
      namespace: 'replay',
      workflowId: started.attributes.workflowId,
      runId: started.attributes.runId,
      workflowType: started.attributes.workflowType,
      taskQueue: started.attributes.taskQueue,
      startTime: started.timestamp,
    });
    try {
      const summary = run.replay(events);
      return { replayedWorkflowTasks: summary.replayedBatches, lastCompletedEventId: summary.lastCompletedEventId };
    } finally {
      run.dispose();
    }
  }

  get state(): WorkerState {
    return this._state;
  }

  /** Workflow types this worker can run (the exported functions of workflowsPath). */
  get workflowTypes(): readonly string[] {
    return this.bundle?.workflowTypes ?? [];
  }

  /** Polls and runs tasks until `shutdown()`; resolves once everything in flight is done. */
  run(): Promise<void> {
    if (this._state === 'STOPPING' || this._state === 'STOPPED') throw new ShuttingDownError(`worker ${this.identity}`);
    if (this.runPromise) throw new InvalidArgumentError('run', 'this worker is already running; call run() once');
    this._state = 'RUNNING';
    const loops: Promise<void>[] = [];
    if (this.sandboxes) {
      loops.push(this.pollLoop('workflow', this.wftSlots, () => this.pollWorkflow()));
      loops.push(this.pollLoop('query', this.querySlots, () => this.pollQueries()));
    }
    if (Object.keys(this.activities).length) {
      loops.push(this.pollLoop('activity', this.actSlots, () => this.pollActivity()));
    }
    this.runPromise = (async () => {
      await Promise.all(loops);
      await Promise.all([this.wftSlots.drained(), this.actSlots.drained(), this.querySlots.drained()]);
      this.cache.clear();
      if (this.ownsEngine) await this.engine.close();
      this._state = 'STOPPED';
    })();
    return this.runPromise;
  }

  /**
   * Stops polling, lets in-flight workflow tasks finish, gives running activities
   * `shutdownGraceTime` to finish and then aborts them (their attempts are reported failed
   * and retried by the engine, never lost). Resolves when `run()` has returned.
   */
  async shutdown(): Promise<void> {
    if (this._state === 'INITIALIZED') {
      this._state = 'STOPPED';
      if (this.ownsEngine) await this.engine.close();
      return;
    }
    if (this._state !== 'RUNNING') return this.runPromise;
    this._state = 'STOPPING';
    this.stopPolling.abort();
    const grace = setTimeout(() => this.activityRunner.abortAll('worker shutting down'), this.graceMs);
    grace.unref?.();
    try {
      await this.runPromise;
    } finally {
      clearTimeout(grace);
    }
  }

  /** Runs until `promise` settles, then shuts down; returns (or throws) what it did. */
  async runUntil<T>(promise: Promise<T> | (() => Promise<T>)): Promise<T> {
    const running = this.run();
    try {
      return await (typeof promise === 'function' ? promise() : promise);
    } finally {
      await this.shutdown();
      await running;
    }
  }

  // ---- polling --------------------------------------------------------------------------

  private async pollLoop(name: string, slots: Slots, pollOnce: () => Promise<void>): Promise<void> {
    let failures = 0;
    while (!this.stopPolling.signal.aborted) {
      await slots.waitForFree(this.stopPolling.signal);
      if (this.stopPolling.signal.aborted) break;
      try {
        await pollOnce();
        failures = 0;
      } catch (err) {
        failures++;
        const backoff = Math.min(10_000, 100 * 2 ** Math.min(failures, 7));
        this.log.error(`${name} poll failed; retrying`, { taskQueue: this.taskQueue, error: err, inMs: backoff });
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  private async pollWorkflow(): Promise<void> {
    // Eager and speculative work take slots too, so the count may have dropped since the wait.
    const n = this.wftSlots.free;
    if (n <= 0) return;
    const tasks = await this.engine.pollWorkflowTasks({
      taskQueue: this.taskQueue,
      maxTasks: n,
      identity: this.identity,
      workflowTypes: this.workflowTypes,
      signal: this.stopPolling.signal,
    });
    if (tasks.length) await failpoint('claim.afterLock');
    for (const task of tasks) {
      this.wftSlots.acquire();
      void this.runWorkflowTask(task).finally(() => this.wftSlots.release());
    }
  }

  private async pollQueries(): Promise<void> {
    const n = this.querySlots.free;
    if (n <= 0) return;
    const tasks = await this.engine.pollQueryTasks({ taskQueue: this.taskQueue, maxTasks: n, identity: this.identity, signal: this.stopPolling.signal });
    for (const task of tasks) {
      this.querySlots.acquire();
      void this.answerQuery(task).finally(() => this.querySlots.release());
    }
  }

  private async answerQuery(task: QueryTask): Promise<void> {
    try {
      await this.queries!.answer(task);
      this.stats.queriesAnswered++;
    } catch (err) {
      this.log.error('could not deliver a query answer; the caller will time out', { workflowId: task.workflowId, queryType: task.queryType, error: err });
    }
  }

  /** A cached run idle at its last completion, for a query; nothing else may be using it. */
  private idleCachedRun(runId: string): WorkflowRun | undefined {
    if (this.busyRuns.has(runId)) return undefined;
    const run = this.cache.peek(runId);
    return run && run.usable ? run : undefined;
  }

  private async pollActivity(): Promise<void> {
    const n = this.actSlots.free;
    if (n <= 0) return;
    const tasks = await this.engine.pollActivityTasks({
      taskQueue: this.taskQueue,
      maxTasks: n,
      identity: this.identity,
      signal: this.stopPolling.signal,
    });
    if (tasks.length) await failpoint('claim.afterLock');
    for (const task of tasks) {
      this.actSlots.acquire();
      this.startActivity(task);
    }
  }

  /** Runs a claimed activity attempt in a slot the caller has already acquired. */
  private startActivity(task: ActivityTask): void {
    void this.activityRunner
      .run(task)
      .then(() => void this.stats.activitiesCompleted++)
      .catch((err) =>
        this.log.error('activity task could not be reported; its lease will expire and it will be retried', {
          activityType: task.activityType,
          workflowId: task.workflowId,
          error: err,
        }),
      )
      .finally(() => this.actSlots.release());
  }

  // ---- workflow tasks -------------------------------------------------------------------

  private async runWorkflowTask(task: WorkflowTask): Promise<void> {
    let run: WorkflowRun | undefined;
    const meta = { workflowId: task.workflowId, runId: task.runId, workflowType: task.workflowType, attempt: task.attempt };
    // A run being processed here already (its lease expired and came back to us, or a
    // speculation is in flight) must not share its state with this task.
    const busyElsewhere = this.busyRuns.has(task.runId);
    this.busyRuns.add(task.runId);
    try {
      if (!this.workflowTypes.includes(task.workflowType)) {
        await this.engine.failWorkflowTask(task.taskToken, {
          cause: 'WORKFLOW_ERROR',
          identity: this.identity,
          failure: {
            failureType: 'application',
            type: 'WorkflowTypeNotFound',
            message: `Workflow type '${task.workflowType}' is not exported by ${this.options.workflowsPath ?? 'the workflow bundle'} of worker ${this.identity}; exported: ${this.workflowTypes.join(', ') || 'none'}`,
          },
        });
        return;
      }
      const cached = busyElsewhere ? undefined : this.cache.take(task.runId);
      if (cached && cached.lastCompletedEventId === task.previousCompletedEventId) {
        run = cached;
      } else {
        cached?.dispose();
        run = await this.rebuildRun(task);
      }
      this.dbClockOffsetMs = task.startedAt - Date.now();
      const facts = { historySizeBytes: task.historySizeBytes, continueAsNewSuggested: task.continueAsNewSuggested };
      const live: LiveActivationOptions = { timestamp: task.startedAt, historyLength: task.historyLength + countRecordedPending(task), ...facts };
      const result = await this.activateWithLocalActivities(run, task.events, live, task.workflowTaskTimeoutMs);
      if ('error' in result) {
        this.log.warn('workflow task failed; it will be retried', { ...meta, kind: result.kind, message: result.error.message });
        this.stats.workflowTasksFailed++;
        await this.engine.failWorkflowTask(task.taskToken, { cause: result.kind, failure: result.error, identity: this.identity });
        run.dispose();
        run = undefined;
        return;
      }
      await failpoint('wft.beforeCommit');
      // Eager dispatch: offer free activity slots so the activities this task schedules on
      // our own queue are leased to us in the same transaction instead of claimed later.
      const schedules = result.commands.filter((c) => c.kind === 'ScheduleActivity').length;
      const eagerSlots = this.polling && Object.keys(this.activities).length ? Math.max(0, Math.min(schedules, this.actSlots.free, MAX_EAGER_ACTIVITIES)) : 0;
      this.actSlots.acquire(eagerSlots);
      let done;
      try {
        done = await this.engine.completeWorkflowTask(task.taskToken, {
          commands: result.commands,
          workflowTime: task.startedAt,
          identity: this.identity,
          eagerActivitySlots: eagerSlots,
          ...facts,
        });
      } catch (err) {
        this.actSlots.release(eagerSlots);
        throw err;
      }
      const eager = done.eagerActivityTasks ?? [];
      this.actSlots.release(eagerSlots - eager.length);
      for (const a of eager) this.startActivity(a);
      await failpoint('wft.afterCommit');
      if (done.rejected) {
        // A signal or update arrived while this task was closing the run: nothing was
        // recorded and the task is pending again with it; our copy has moved past history.
        this.stats.completionsRejected++;
        this.log.debug('closing completion rejected: new events arrived; the task runs again', { ...meta });
        run.dispose();
      } else if (done.closed) {
        this.stats.workflowTasksCompleted++;
        run.dispose();
      } else {
        this.stats.workflowTasksCompleted++;
        run.markCompleted(done.completedEventId);
        this.workflowTimes.set(run, task.startedAt);
        this.historyFacts.set(run, facts);
        this.cache.put(task.runId, run);
      }
      run = undefined;
    } catch (err) {
      run?.dispose();
      run = undefined;
      if (err instanceof StaleTaskError) {
        this.log.warn('workflow task result dropped: the task lost its lease or the run closed', { ...meta });
        return;
      }
      const nde = err instanceof NonDeterminismError;
      // The engine refused a command (InvalidArgumentError from completeWorkflowTask): the
      // workflow asked for something invalid; retrying the same code will not help.
      const badCommand = err instanceof InvalidArgumentError;
      const cause =
        (err as { taskFailureCause?: WorkflowTaskFailure['cause'] }).taskFailureCause ??
        (nde ? 'NON_DETERMINISM' : badCommand ? 'BAD_COMMAND' : 'WORKFLOW_ERROR');
      this.stats.workflowTasksFailed++;
      this.log.error(nde ? 'non-determinism: the workflow code does not match its history' : 'workflow task failed', { ...meta, error: err });
      await this.engine
        .failWorkflowTask(task.taskToken, {
          cause,
          failure: toFailureInfo(err),
          identity: this.identity,
        })
        .catch((e) => {
          if (!(e instanceof StaleTaskError)) this.log.error('could not report the workflow task failure; its lease will expire', { ...meta, error: e });
        });
    } finally {
      this.busyRuns.delete(task.runId);
    }
  }

  /**
   * Runs the workflow over an activity's result on the cached copy of its run, so that the
   * result and the workflow task it unblocks are recorded in one commit. Only when the run is
   * cached here, idle, and a workflow-task slot is free; the engine applies it only if nothing
   * else happened to the run meanwhile.
   */
  private prepareSpeculation(task: ActivityTask, result: unknown): Speculation | undefined {
    if (!this.sandboxes || !this.polling || this.busyRuns.has(task.runId) || this.wftSlots.free <= 0) return undefined;
    const run = this.cache.peek(task.runId);
    if (!run) return undefined;
    this.cache.take(task.runId);
    this.wftSlots.acquire();
    this.busyRuns.add(task.runId);
    const previousCompletedEventId = run.lastCompletedEventId;
    // Workflow time is database time, estimated from the last claim, and never goes backwards.
    const workflowTime = Math.max(Date.now() + this.dbClockOffsetMs, this.workflowTimes.get(run) ?? 0);
    const facts = this.historyFacts.get(run) ?? { historySizeBytes: 0, continueAsNewSuggested: false };
    let activation: ActivationResult;
    try {
      // The workflow must see the result as it will read back from jsonb, on replay too.
      const stored = canonicalJson(result);
      activation = run.activate(
        [{ eventType: 'ActivityTaskCompleted', attributes: { seq: Number(task.activityId), result: stored, attempt: task.attempt, identity: this.identity } }],
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
      this.busyRuns.delete(task.runId);
      this.wftSlots.release();
      return undefined;
    }
    const schedules = activation.commands.filter((c) => c.kind === 'ScheduleActivity').length;
    const eagerActivitySlots = Math.max(0, Math.min(schedules, this.actSlots.free, MAX_EAGER_ACTIVITIES));
    this.actSlots.acquire(eagerActivitySlots);
    return {
      run,
      runId: task.runId,
      previousCompletedEventId,
      workflowTime,
      commands: activation.commands,
      eagerActivitySlots,
      eagerWorkflowTaskQueue: this.taskQueue,
      ...facts,
    };
  }

  private finishSpeculation(spec: Speculation, outcome: ActivityAndWorkflowTaskCompletionResult | undefined): void {
    const eagerActivities = outcome?.applied ? (outcome.eagerActivityTasks ?? []) : [];
    this.actSlots.release(spec.eagerActivitySlots - eagerActivities.length);
    this.busyRuns.delete(spec.runId);
    if (outcome?.applied) {
      this.stats.workflowTasksCompleted++;
      this.stats.speculationsApplied++;
      if (outcome.closed) {
        spec.run.dispose();
      } else {
        spec.run.markCompleted(outcome.completedEventId);
        this.workflowTimes.set(spec.run, spec.workflowTime);
        this.historyFacts.set(spec.run, { historySizeBytes: spec.historySizeBytes ?? 0, continueAsNewSuggested: spec.continueAsNewSuggested ?? false });
        this.cache.put(spec.runId, spec.run);
      }
      this.wftSlots.release();
      for (const a of eagerActivities) this.startActivity(a);
      return;
    }
    // Not applied (or unknown): the cached copy has moved past what is recorded; drop it.
    this.stats.speculationsAbandoned++;
    spec.run.dispose();
    if (outcome && !outcome.applied && outcome.eagerWorkflowTask) {
      void this.runWorkflowTask(outcome.eagerWorkflowTask).finally(() => this.wftSlots.release());
    } else {
      this.wftSlots.release();
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
      const resolutions = await runLocalActivities(requests, { run: run.info, activities: this.activities, identity: this.identity, log: this.log, deadline });
      this.stats.localActivitiesCompleted += resolutions.length;
      result = run.resolveLocalActivities(resolutions);
    }
    return result;
  }

  /** A cache miss: a new sandbox, and a replay of the history up to the last completed task. */
  private async rebuildRun(task: WorkflowTask): Promise<WorkflowRun> {
    let history: HistoryEvent[] = [];
    if (task.previousCompletedEventId > 0) {
      history = await fetchFullHistory(this.engine, { workflowId: task.workflowId, runId: task.runId }, task.previousCompletedEventId);
      this.stats.replays++;
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
    const run = WorkflowRun.create(this.sandboxes!, info);
    try {
      if (history.length) run.replay(history);
    } catch (err) {
      run.dispose();
      throw err;
    }
    return run;
  }
}

/** Most activities one workflow-task completion may lease to its worker eagerly. */
const MAX_EAGER_ACTIVITIES = 20;

/**
 * The share of a workflow task's timeout its local activities may take, all rounds together:
 * they run inside the task, so they must end well before its lease runs out.
 */
const LOCAL_ACTIVITY_SHARE = 0.7;
const DEFAULT_WORKFLOW_TASK_TIMEOUT_MS = 10_000;

/** A reference-counted set: the run stays busy until every path that took it lets go. */
class BusyRuns {
  private readonly counts = new Map<string, number>();
  has(runId: string): boolean {
    return this.counts.has(runId);
  }
  add(runId: string): void {
    this.counts.set(runId, (this.counts.get(runId) ?? 0) + 1);
  }
  delete(runId: string): void {
    const n = (this.counts.get(runId) ?? 0) - 1;
    if (n > 0) this.counts.set(runId, n);
    else this.counts.delete(runId);
  }
}

interface Speculation extends SpeculativeWorkflowTask {
  readonly run: WorkflowRun;
  readonly runId: string;
}

function registeredActivities(activities: object | undefined): Record<string, ActivityFunction> {
  const out: Record<string, ActivityFunction> = {};
  for (const [name, value] of Object.entries(activities ?? {})) if (typeof value === 'function') out[name] = value as ActivityFunction;
  return out;
}

const INBOX_ONLY: ReadonlySet<string> = new Set(INBOX_ONLY_EVENT_TYPES);

/** Pending events the completion will append to history (update admissions never are). */
function countRecordedPending(task: WorkflowTask): number {
  return task.events.filter((e) => !('eventId' in e) && !INBOX_ONLY.has(e.eventType)).length;
}
