import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import * as activityTasks from './activity-tasks.js';
import { createDb, createPool, type PoolOptions } from './db/connect.js';
import type { Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { completeActivityAndWorkflowTask } from './activity-workflow-completion.js';
import type {
  ActivityAndWorkflowTaskCompletion,
  ActivityAndWorkflowTaskCompletionResult,
  ActivityCompletion,
  ActivityCompletionResult,
  ActivityFailureReport,
  Engine,
  GetHistoryOptions,
  HistoryPage,
  ListWorkflowsPage,
  ListWorkflowsRequest,
  PollRequest,
  PollWorkflowTasksRequest,
  QueryRequest,
  SignalRequest,
  SignalWithStartRequest,
  StartWorkflowRequest,
  StartWorkflowResponse,
  UpdateRequest,
  UpdateStage,
  UpdateStatus,
  UpdateWithStartRequest,
  WorkflowDescription,
  WorkflowOutcome,
  WorkflowRef,
  SearchAttributeType,
} from './engine.js';
import { InvalidArgumentError } from './errors.js';
import * as executions from './executions.js';
import { readHistory } from './history.js';
import { consoleLogger, type Logger } from './logger.js';
import { BackgroundLoop } from './loops.js';
import type {
  ActivityTask,
  HeartbeatResponse,
  Payload,
  PendingEvent,
  QueryOutcome,
  QueryTask,
  WorkflowTask,
  WorkflowTaskCompletion,
  WorkflowTaskCompletionResult,
  WorkflowTaskFailure,
} from './protocol/index.js';
import { failpoint } from './failpoints.js';
import { resolveLimits, type LimitSettings } from './limits.js';
import { Notifier } from './notifier.js';
import * as runTimeouts from './run-timeouts.js';
import { Queries, reapQueryTasks } from './queries.js';
import * as searchAttributes from './search-attributes.js';
import * as signals from './signals.js';
import { Updates } from './updates.js';
import * as visibility from './visibility/list-workflows.js';
import { fireDueTimers, msUntilNextTimer } from './timers.js';
import { validateName } from './validation.js';
import { CHANNELS, Doorbell, Wakeups } from './wakeups.js';
import * as workflowTasks from './workflow-tasks.js';

export interface PgEngineOptions {
  /** postgres:// URL. Either this or `pool`. */
  readonly databaseUrl?: string;
  /** An existing pool (the engine will not end it on close). Requires `databaseUrl` too for LISTEN. */
  readonly pool?: pg.Pool;
  readonly poolOptions?: PoolOptions;
  /** Default 'default'. */
  readonly namespace?: string;
  /** Apply pending migrations on connect. Default true. */
  readonly migrate?: boolean;
  /** How long a worker may hold a workflow task. Default 10 s (Temporal's default). */
  readonly workflowTaskTimeoutMs?: number;
  /**
   * Fallback polling interval for task queues, timers and run closes, in ms. NOTIFY makes
   * wake-ups immediate; this bounds the delay when a notification is lost. Default 1000.
   */
  readonly pollIntervalMs?: number;
  /** How often expired leases are looked for. Default 1000 ms. */
  readonly reaperIntervalMs?: number;
  /** Random source for retry jitter (inject a seeded one in tests). Default Math.random. */
  readonly random?: () => number;
  readonly logger?: Logger;
  /**
   * History and payload limits (engine/limits.ts); each unset one comes from its CHRONICLE_*
   * environment variable, else Temporal's default.
   */
  readonly limits?: Partial<LimitSettings>;
}

const DEFAULT_POLL_WAIT_MS = 10_000;
/** How soon the timer loop comes back for a due timer whose run was locked by someone else. */
const SKIPPED_TIMER_RETRY_MS = 5;
const TYPE_REGISTRATION_INTERVAL_MS = 60_000;

/**
 * The Engine on PostgreSQL. Owns a pool, one LISTEN connection, and (once
 * `startBackgroundLoops` is called) the loops that fire timers and time out lost leases.
 * Every loop is safe to run in any number of processes at once.
 */
export class PgEngine implements Engine {
  readonly namespace: string;
  readonly db: Kysely<Database>;
  readonly pool: pg.Pool;
  readonly log: Logger;
  private readonly ownsPool: boolean;
  private readonly wakeups: Wakeups;
  private readonly doorbells = new Map<string, Doorbell>();
  private readonly closeWaiters = new Map<string, Set<() => void>>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly settings: Required<Pick<PgEngineOptions, 'workflowTaskTimeoutMs' | 'pollIntervalMs' | 'reaperIntervalMs'>>;
  /** The limits in force (option > environment > default). */
  readonly limits: LimitSettings;
  private readonly random: () => number;
  private loops: BackgroundLoop[] = [];
  private readonly typesRegisteredAt = new Map<string, number>();
  private readonly notifier: Notifier;
  private readonly messages: signals.MessageContext;
  private readonly queries: Queries;
  private readonly updates: Updates;
  private timerLoop: BackgroundLoop | undefined;
  private closed = false;

  private constructor(opts: PgEngineOptions & { databaseUrl: string }) {
    this.namespace = validateName('namespace', opts.namespace ?? 'default');
    // Checked before the pool exists, so that a bad option leaks nothing.
    this.limits = resolveLimits(opts.limits);
    this.log = opts.logger ?? consoleLogger();
    this.ownsPool = !opts.pool;
    this.pool = opts.pool ?? createPool(opts.databaseUrl, opts.poolOptions);
    this.db = createDb(this.pool);
    this.random = opts.random ?? Math.random;
    this.notifier = new Notifier(this.db, this.log);
    this.settings = {
      workflowTaskTimeoutMs: opts.workflowTaskTimeoutMs ?? 10_000,
      pollIntervalMs: opts.pollIntervalMs ?? 1000,
      reaperIntervalMs: opts.reaperIntervalMs ?? 1000,
    };
    this.messages = { db: this.db, namespace: this.namespace, limits: this.limits, notifier: this.notifier };
    this.queries = new Queries(this.db, this.namespace, this.notifier, this.log, { pollIntervalMs: this.settings.pollIntervalMs, limits: this.messages.limits });
    this.updates = new Updates(this.messages, { pollIntervalMs: this.settings.pollIntervalMs });
    this.wakeups = new Wakeups(opts.databaseUrl, this.log);
    this.unsubscribe.push(
      this.wakeups.subscribe(CHANNELS.workflowTask, (p) => this.ring('wft', p)),
      this.wakeups.subscribe(CHANNELS.activityTask, (p) => this.ring('act', p)),
      this.wakeups.subscribe(CHANNELS.runClosed, (runId) => this.runClosed(runId)),
      this.wakeups.subscribe(CHANNELS.timer, (p) => this.timerNotified(p)),
      this.wakeups.subscribe(CHANNELS.query, (p) => this.queries.answered(p)),
      this.wakeups.subscribe(CHANNELS.queryTask, (p) => this.queries.queueNotified(p)),
      this.wakeups.subscribe(CHANNELS.update, (p) => this.updates.notified(p)),
    );
  }

  /** Connects (and by default migrates). */
  static async connect(opts: PgEngineOptions): Promise<PgEngine> {
    if (!opts.databaseUrl) {
      throw new InvalidArgumentError('databaseUrl', 'is required (postgres://user@host:port/database); set DATABASE_URL or pass it explicitly');
    }
    const engine = new PgEngine(opts as PgEngineOptions & { databaseUrl: string });
    try {
      if (opts.migrate !== false) {
        const { applied, version } = await migrate(engine.pool);
        for (const name of applied) engine.log.info(`applied migration ${name}`, { schemaVersion: version });
      }
      await engine.wakeups.ready().catch((err) => engine.log.warn('LISTEN not available yet; falling back to polling', { error: err }));
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  /** Starts the timer and lease-reaper loops in this process. Safe in many processes. */
  startBackgroundLoops(): void {
    if (this.loops.length) return;
    this.timerLoop = new BackgroundLoop(
      'timers',
      async () => {
        const fired = await fireDueTimers(this.db);
        if (fired > 0) await failpoint('timer.afterFireCommit');
        if (fired >= 500) return 0;
        const next = await msUntilNextTimer(this.db);
        // A due timer left behind (its run's row was busy: fireDueTimers skips locked runs)
        // is retried shortly, not in a tight loop.
        const floor = fired === 0 && next === 0 ? SKIPPED_TIMER_RETRY_MS : 0;
        return Math.min(Math.max(next ?? Infinity, floor), this.settings.pollIntervalMs);
      },
      this.log,
    );
    const reaper = new BackgroundLoop(
      'lease-reaper',
      async () => {
        const { workflowTasks: wft, activityAttempts: act, queries, timedOutRuns } = await this.reapExpiredLeases();
        if (wft || act || queries || timedOutRuns) {
          this.log.info('lease reaper recovered work', { workflowTasks: wft, activityAttempts: act, queries, timedOutRuns });
        }
        return this.settings.reaperIntervalMs;
      },
      this.log,
    );
    this.loops = [this.timerLoop, reaper];
    for (const l of this.loops) l.start();
  }

  async stopBackgroundLoops(): Promise<void> {
    await Promise.all(this.loops.map((l) => l.stop()));
    this.loops = [];
    this.timerLoop = undefined;
  }

  // ---- wake-ups -------------------------------------------------------------------------

  private doorbell(kind: 'wft' | 'act', queue: string): Doorbell {
    const key = `${kind}:${this.namespace}/${queue}`;
    let d = this.doorbells.get(key);
    if (!d) this.doorbells.set(key, (d = new Doorbell()));
    return d;
  }

  private ring(kind: 'wft' | 'act', payload: string): void {
    if (payload === '*') {
      for (const [k, d] of this.doorbells) if (k.startsWith(kind + ':')) d.ring();
      return;
    }
    this.doorbells.get(`${kind}:${payload}`)?.ring();
  }

  private runClosed(runId: string): void {
    if (runId === '*') {
      for (const set of this.closeWaiters.values()) for (const w of set) w();
      return;
    }
    const set = this.closeWaiters.get(runId);
    if (set) for (const w of set) w();
  }

  private timerNotified(payload: string): void {
    if (!this.timerLoop) return;
    const fireAt = Number(payload);
    this.timerLoop.wakeIn(Number.isFinite(fireAt) ? Math.max(0, fireAt - Date.now()) : 0);
  }

  // ---- runs -----------------------------------------------------------------------------

  async startWorkflow(req: StartWorkflowRequest): Promise<StartWorkflowResponse> {
    const r = await executions.startExecution(this.db, this.namespace, req, { limits: this.limits });
    this.notifier.send(r.notifications);
    return { runId: r.runId, started: r.started };
  }

  describeWorkflow(ref: WorkflowRef): Promise<WorkflowDescription> {
    return executions.describeExecution(this.db, this.namespace, ref);
  }

  async getHistory(ref: WorkflowRef, options: GetHistoryOptions = {}): Promise<HistoryPage> {
    const pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000) {
      throw new InvalidArgumentError('pageSize', `must be an integer from 1 to 10000, got ${pageSize}`);
    }
    const fromEventId = options.fromEventId ?? 1;
    if (!Number.isInteger(fromEventId) || fromEventId < 1) throw new InvalidArgumentError('fromEventId', `must be a positive integer, got ${fromEventId}`);
    const ex = await executions.resolveRun(this.db, this.namespace, ref);
    const events = await readHistory(this.db, ex.run_id, {
      fromEventId,
      ...(options.toEventId !== undefined ? { toEventId: options.toEventId } : {}),
      limit: pageSize + 1,
    });
    if (events.length > pageSize) {
      events.pop();
      return { events, nextEventId: events[events.length - 1]!.eventId + 1 };
    }
    return { events };
  }

  async getPendingEvents(ref: WorkflowRef): Promise<readonly PendingEvent[]> {
    const ex = await executions.resolveRun(this.db, this.namespace, ref);
    const rows = await this.db
      .selectFrom('chronicle.workflow_inbox')
      .select(['event_type', 'attributes'])
      .where('run_id', '=', ex.run_id)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ eventType: r.event_type, attributes: r.attributes }) as PendingEvent);
  }

  async awaitOutcome(ref: WorkflowRef, options: { signal?: AbortSignal } = {}): Promise<WorkflowOutcome> {
    const first = await executions.resolveRun(this.db, this.namespace, ref);
    const runId = first.run_id;
    let wake: () => void = () => {};
    let set = this.closeWaiters.get(runId);
    if (!set) this.closeWaiters.set(runId, (set = new Set()));
    const waiter = () => wake();
    set.add(waiter);
    try {
      let ex = first;
      let waitMs = 100;
      for (;;) {
        const outcome = executions.outcomeOf(ex);
        if (outcome) return outcome;
        if (options.signal?.aborted) throw options.signal.reason ?? new DOMException('aborted', 'AbortError');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, waitMs);
          function done() {
            clearTimeout(timer);
            options.signal?.removeEventListener('abort', done);
            resolve();
          }
          wake = done;
          options.signal?.addEventListener('abort', done, { once: true });
        });
        // Fallback polling backs off to the poll interval; NOTIFY makes the common case immediate.
        waitMs = Math.min(waitMs * 2, this.settings.pollIntervalMs * 2);
        ex = await executions.resolveRun(this.db, this.namespace, { workflowId: first.workflow_id, runId });
      }
    } finally {
      set.delete(waiter);
      if (set.size === 0) this.closeWaiters.delete(runId);
    }
  }

  requestCancelWorkflow(ref: WorkflowRef, options: { reason?: string; identity?: string } = {}): Promise<void> {
    return executions.requestCancelExecution(this.db, this.namespace, ref, options);
  }

  async terminateWorkflow(ref: WorkflowRef, options: { reason?: string; identity?: string } = {}): Promise<void> {
    const notes = await executions.terminateExecution(this.db, this.namespace, ref, options);
    this.notifier.send(notes);
  }

  addSearchAttributes(attributes: Readonly<Record<string, SearchAttributeType>>): Promise<void> {
    return searchAttributes.addSearchAttributes(this.db, this.namespace, attributes);
  }

  async listSearchAttributes(): Promise<Readonly<Record<string, SearchAttributeType>>> {
    return Object.fromEntries(await searchAttributes.getSearchAttributeTypes(this.db, this.namespace));
  }

  // ---- messages and visibility (engine/signals.ts, queries.ts, updates.ts, visibility/) ----

  signalWorkflow(ref: WorkflowRef, req: SignalRequest): Promise<void> {
    return signals.signalWorkflow(this.messages, ref, req);
  }

  signalWithStart(req: SignalWithStartRequest): Promise<StartWorkflowResponse> {
    return signals.signalWithStart(this.messages, req);
  }

  queryWorkflow(ref: WorkflowRef, req: QueryRequest): Promise<Payload> {
    return this.queries.query(ref, req);
  }

  pollQueryTasks(req: PollRequest): Promise<QueryTask[]> {
    return this.queries.poll(req);
  }

  respondQueryTask(taskToken: string, outcome: QueryOutcome): Promise<void> {
    return this.queries.respond(taskToken, outcome);
  }

  updateWorkflow(ref: WorkflowRef, req: UpdateRequest): Promise<UpdateStatus> {
    return this.updates.update(ref, req);
  }

  pollWorkflowUpdate(
    ref: WorkflowRef,
    updateId: string,
    options?: { readonly waitForStage?: UpdateStage; readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<UpdateStatus> {
    return this.updates.poll(ref, updateId, options);
  }

  updateWithStart(req: UpdateWithStartRequest): Promise<{ readonly runId: string; readonly started: boolean; readonly update: UpdateStatus }> {
    return this.updates.updateWithStart(req);
  }

  listWorkflows(req?: ListWorkflowsRequest): Promise<ListWorkflowsPage> {
    return visibility.listWorkflows(this.db, this.namespace, req);
  }

  countWorkflows(query?: string): Promise<number> {
    return visibility.countWorkflows(this.db, this.namespace, query);
  }

  // ---- tasks ----------------------------------------------------------------------------

  /**
   * Long poll: claim; if nothing, sleep until a NOTIFY for this queue, the next visibility
   * time, the fallback interval or the end of `waitMs`, whichever is first; repeat. The
   * doorbell is armed before each claim so a notification landing in between is not lost.
   */
  private async longPoll<T>(
    kind: 'wft' | 'act',
    req: PollRequest,
    claim: () => Promise<T[]>,
    nextVisibleMs?: () => Promise<number | undefined>,
  ): Promise<T[]> {
    validateName('taskQueue', req.taskQueue);
    if (!Number.isInteger(req.maxTasks) || req.maxTasks < 1) throw new InvalidArgumentError('maxTasks', `must be a positive integer, got ${req.maxTasks}`);
    const deadline = Date.now() + (req.waitMs ?? DEFAULT_POLL_WAIT_MS);
    const bell = this.doorbell(kind, req.taskQueue);
    for (;;) {
      if (req.signal?.aborted || this.closed) return [];
      const armed = bell.arm();
      const tasks = await claim();
      if (tasks.length) return tasks;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      let sleep = Math.min(left, this.settings.pollIntervalMs);
      if (nextVisibleMs) {
        const next = await nextVisibleMs();
        if (next !== undefined) sleep = Math.min(sleep, next + 1);
      }
      await bell.wait(armed, sleep, req.signal);
    }
  }

  async pollWorkflowTasks(req: PollWorkflowTasksRequest): Promise<WorkflowTask[]> {
    if (req.workflowTypes?.length) {
      // A write per poll would cost a commit on the hot path; once a minute keeps
      // `last_seen_at` fresh enough for the start-time check.
      const key = `${req.taskQueue}\u0000${req.workflowTypes.join('\u0000')}`;
      const last = this.typesRegisteredAt.get(key) ?? 0;
      if (Date.now() - last > TYPE_REGISTRATION_INTERVAL_MS) {
        await executions.registerWorkflowTypes(this.db, this.namespace, req.taskQueue, req.workflowTypes);
        this.typesRegisteredAt.set(key, Date.now());
      }
    }
    return this.longPoll('wft', req, () =>
      workflowTasks.claimWorkflowTasks(this.db, this.log, { ...this.settings, limits: this.limits }, this.namespace, req.taskQueue, req.maxTasks, req.identity),
    );
  }

  completeWorkflowTask(taskToken: string, completion: WorkflowTaskCompletion): Promise<WorkflowTaskCompletionResult> {
    return workflowTasks.completeWorkflowTask(this.db, taskToken, completion, this.notifier, { namespace: this.namespace, limits: this.limits });
  }

  failWorkflowTask(taskToken: string, failure: WorkflowTaskFailure): Promise<void> {
    return workflowTasks.failWorkflowTask(this.db, taskToken, failure);
  }

  pollActivityTasks(req: PollRequest): Promise<ActivityTask[]> {
    return this.longPoll(
      'act',
      req,
      () => activityTasks.claimActivityTasks(this.db, this.namespace, req.taskQueue, req.maxTasks, req.identity),
      () => activityTasks.msUntilNextVisibleActivity(this.db, this.namespace, req.taskQueue),
    );
  }

  async completeActivityTask(taskToken: string, completion: ActivityCompletion): Promise<ActivityCompletionResult> {
    const eager = completion.eagerWorkflowTaskQueue
      ? { workflowTaskQueue: completion.eagerWorkflowTaskQueue, leaseMs: this.settings.workflowTaskTimeoutMs }
      : undefined;
    const task = await activityTasks.completeActivityTask(this.db, this.log, taskToken, completion.result, completion.identity, eager, this.notifier, this.limits);
    return task ? { eagerWorkflowTask: task } : {};
  }

  completeActivityAndWorkflowTask(
    activityTaskToken: string,
    completion: ActivityAndWorkflowTaskCompletion,
  ): Promise<ActivityAndWorkflowTaskCompletionResult> {
    return completeActivityAndWorkflowTask(this.db, this.log, this.notifier, activityTaskToken, completion, this.settings.workflowTaskTimeoutMs, {
      namespace: this.namespace,
      limits: this.limits,
    });
  }

  failActivityTask(taskToken: string, report: ActivityFailureReport): Promise<void> {
    return activityTasks.failActivityTask(this.db, taskToken, report.failure, this.random, report.identity);
  }

  heartbeatActivityTask(taskToken: string, details?: unknown): Promise<HeartbeatResponse> {
    return activityTasks.heartbeatActivityTask(this.db, taskToken, details, this.limits);
  }

  /**
   * Runs the lease reaper once (tests and tools; the background loop does this every second):
   * expired workflow-task and activity leases, query tasks whose worker vanished, and runs
   * past their run or execution deadline.
   */
  async reapExpiredLeases(): Promise<{ workflowTasks: number; activityAttempts: number; queries: number; timedOutRuns: number }> {
    return {
      workflowTasks: await workflowTasks.requeueExpiredWorkflowTasks(this.db),
      activityAttempts: await activityTasks.timeOutExpiredActivities(this.db, this.random),
      queries: (await reapQueryTasks(this.db, this.notifier)).requeued,
      timedOutRuns: await runTimeouts.timeOutExpiredRuns(this.db, this.notifier),
    };
  }

  /**
   * Times out open runs past their run or execution deadline, once (engine/run-timeouts.ts;
   * tests and tools, and the body of the run-timeout loop). Returns how many timed out.
   */
  timeOutExpiredRuns(): Promise<number> {
    return runTimeouts.timeOutExpiredRuns(this.db, this.notifier);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.doorbells.values()) d.ring();
    this.runClosed('*');
    this.queries.close();
    this.updates.close();
    await this.stopBackgroundLoops();
    await this.notifier.drain();
    for (const u of this.unsubscribe) u();
    await this.wakeups.close();
    if (this.ownsPool) await this.db.destroy();
  }
}

/** Default worker/client identity: `pid@host`, as Temporal's. */
export function defaultIdentity(): string {
  return `${process.pid}@${hostname()}`;
}
