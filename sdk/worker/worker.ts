import type { Engine } from '../../engine/engine.js';
import { InvalidArgumentError, ShuttingDownError } from '../../engine/errors.js';
import { failpoint } from '../../engine/failpoints.js';
import { consoleLogger, type Logger } from '../../engine/logger.js';
import { PgEngine, defaultIdentity } from '../../engine/pg-engine.js';
import type { ActivityTask, HistoryEvent, QueryTask } from '../../engine/protocol/index.js';
import { parseDuration } from '../../engine/protocol/durations.js';
import { ActivityRunner, type ActivityFunction } from './activity-runner.js';
import { bundleWorkflowCode, type WorkflowBundle } from './bundler.js';
import { BusyRuns } from './busy-runs.js';
import type { NativeConnection } from './connection.js';
import { LongHistoryWarnings } from './history-warnings.js';
import { QueryAnswerer } from './query-answerer.js';
import { createSandboxFactory } from './sandbox.js';
import { Slots } from './slots.js';
import { Speculator, type Speculation } from './speculation.js';
import { WorkflowCache } from './workflow-cache.js';
import { WorkflowRun } from './workflow-run.js';
import { WorkflowTaskRunner } from './workflow-task-runner.js';

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
  private readonly workflowTasks: WorkflowTaskRunner;
  /** The one-commit path: an activity's result together with the workflow task it unblocks. */
  private readonly speculation: Speculator;
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
    const isPolling = () => this.polling;
    const startActivity = (task: ActivityTask) => this.startActivity(task);
    const historyWarnings = new LongHistoryWarnings(this.log);
    this.speculation = new Speculator({
      historyWarnings,
      runsWorkflows: this.sandboxes !== undefined,
      cache: this.cache,
      busyRuns: this.busyRuns,
      wftSlots: this.wftSlots,
      actSlots: this.actSlots,
      identity: this.identity,
      taskQueue: this.taskQueue,
      stats: this.stats,
      isPolling,
      startActivity,
      runWorkflowTask: (task) => this.workflowTasks.run(task),
    });
    this.workflowTasks = new WorkflowTaskRunner({
      historyWarnings,
      engine,
      sandboxes: this.sandboxes,
      cache: this.cache,
      busyRuns: this.busyRuns,
      actSlots: this.actSlots,
      activities: this.activities,
      identity: this.identity,
      log: this.log,
      workflowTypes: this.workflowTypes,
      workflowsPath: options.workflowsPath,
      stats: this.stats,
      isPolling,
      startActivity,
      speculation: this.speculation,
    });
    this.activityRunner = new ActivityRunner({
      engine,
      activities: this.activities,
      identity: this.identity,
      log: this.log,
      speculation: {
        prepare: (task, result) => this.speculation.prepare(task, result),
        finish: (spec, outcome) => this.speculation.finish(spec as Speculation, outcome),
      },
      eagerWorkflowTasks: {
        reserve: () => {
          if (!this.sandboxes || !this.polling || this.wftSlots.free <= 0) return undefined;
          this.wftSlots.acquire();
          return this.taskQueue;
        },
        release: () => this.wftSlots.release(),
        run: (task) => void this.workflowTasks.run(task).finally(() => this.wftSlots.release()),
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
      void this.workflowTasks.run(task).finally(() => this.wftSlots.release());
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
}

function registeredActivities(activities: object | undefined): Record<string, ActivityFunction> {
  const out: Record<string, ActivityFunction> = {};
  for (const [name, value] of Object.entries(activities ?? {})) if (typeof value === 'function') out[name] = value as ActivityFunction;
  return out;
}
