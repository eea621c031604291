import type { Activation, ActivationJob, LocalActivityRequest, QueryOutcome, WorkflowRunInfo } from '../../engine/protocol/activation.js';
import { isTerminalCommand, type RejectUpdateCommand, type WorkflowCommand } from '../../engine/protocol/commands.js';
import { PayloadNotSerializableError, UnknownWorkflowTypeError } from '../../engine/protocol/errors.js';
import type { ParentInfo, SearchAttributeValue } from '../../engine/protocol/events.js';
import { toFailureInfo, type FailureInfo } from '../../engine/protocol/failures.js';
import { findNonJsonValue } from '../../engine/protocol/payloads.js';
import {
  CancellationScope,
  cancelScope,
  syncScopeStorage,
  installCancellationScopes,
  type ScopeStorage,
} from './cancellation-scope.js';
import { CancelledFailure, DeterminismViolationError, TemporalFailure, isCancellation } from './errors.js';
import { DeterministicRandom } from './random.js';
import { Activities } from './runtime/activities.js';
import { Children } from './runtime/children.js';
import { Conditions } from './runtime/conditions.js';
import { ContinueAsNew } from './runtime/continue-as-new.js';
import { jsonClone, type RunCore, type SeqKind } from './runtime/core.js';
import { ExternalRequests } from './runtime/external.js';
import { LocalActivities } from './runtime/local-activities.js';
import { Messages } from './runtime/messages.js';
import { Patches } from './runtime/patches.js';
import { Timers } from './runtime/timers.js';

/**
 * What one activation produced: the commands (and the local activities the worker must run
 * before completing the task), or the error that fails the workflow task.
 */
export type ActivationOutcome =
  | { readonly commands: WorkflowCommand[]; readonly localActivities?: LocalActivityRequest[] }
  | { readonly error: FailureInfo; readonly kind: 'WORKFLOW_ERROR' };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Sends a log line to the worker's logger. Strings only: nothing of the sandbox leaks out. */
export type HostLog = (level: LogLevel, message: string, attributesJson: string) => void;

/** What the StartWorkflow job told the run about itself (for `workflowInfo()`). */
export interface StartFacts {
  readonly parent?: ParentInfo;
  readonly memo?: Readonly<Record<string, unknown>>;
  readonly continuedFromExecutionRunId?: string;
  readonly firstExecutionRunId?: string;
  readonly workflowExecutionTimeoutMs?: number;
  readonly workflowRunTimeoutMs?: number;
}

/** Handlers for every job kind; adding a kind to ActivationJob breaks the build until handled here. */
type JobHandlers = { readonly [K in ActivationJob['kind']]: (job: Extract<ActivationJob, { kind: K }>) => void };

type WorkflowFunction = (...args: unknown[]) => unknown;

/**
 * All per-run state of one workflow execution inside its sandbox: the command buffer, the
 * per-kind sequence counters, the scopes, the workflow clock and random source, how the run
 * ended, and the parts that keep the pending operations of each kind (`runtime/`). One
 * instance per run, created when the sandbox is; the worker reaches it only through
 * `worker-interface.ts`.
 *
 * Workflow-facing APIs (proxyActivities, sleep, setHandler, …) call into it through
 * `getActivator()`.
 */
export class Activator implements RunCore {
  readonly info: WorkflowRunInfo;
  readonly random: DeterministicRandom;
  /** Workflow time in ms: what `Date.now()` returns. Module evaluation sees the run's start time. */
  now: number;
  isReplaying = false;
  historyLength = 0;
  historySizeBytes = 0;
  continueAsNewSuggested = false;
  start: StartFacts = {};
  /** The run's current search attributes (start values merged with every upsert). */
  searchAttributes: Record<string, readonly SearchAttributeValue[]> = {};
  /** Set once the workflow's cancellation was requested (the root scope is cancelled with it). */
  cancelRequested: CancelledFailure | undefined;

  readonly rootScope: CancellationScope;
  readonly timers = new Timers(this);
  readonly activities = new Activities(this);
  readonly localActivities = new LocalActivities(this);
  readonly external = new ExternalRequests(this);
  readonly children = new Children(this, this.external);
  readonly messages = new Messages(this);
  readonly conditions = new Conditions(this);
  readonly patches = new Patches(this);

  private readonly scopeStorage: ScopeStorage;
  private readonly hostLog: HostLog | undefined;
  private workflows: Readonly<Record<string, unknown>> = {};
  private readonly seqs: Record<SeqKind, number> = { activity: 1, timer: 1, child: 1, signalExternal: 1, cancelExternal: 1, localActivity: 1 };
  private commands: WorkflowCommand[] = [];
  private started = false;
  /** A terminal command was issued; later commands are dropped, as Temporal does. */
  private closed = false;
  /** Set while read-only code runs (a query handler, an update validator): what it is, for errors. */
  private readOnly: string | undefined;
  /** A plain error escaped the workflow: the task fails and this sandbox must be evicted. */
  private taskFailure: { readonly error: unknown } | undefined;

  private readonly handlers: JobHandlers = {
    NotifyHasPatch: (job) => this.patches.notify(job.patchId),
    StartWorkflow: (job) => this.startWorkflow(job),
    SignalWorkflow: (job) => this.messages.signal(job),
    DoUpdate: (job) => this.messages.update(job),
    ResolveActivity: (job) => this.activities.resolve(job.seq, job.result),
    ResolveLocalActivity: (job) => this.localActivities.resolve(job.seq, job.result, job.attempt),
    FireTimer: (job) => this.timers.fire(job.seq),
    ResolveChildWorkflowStart: (job) => this.children.resolveStart(job.seq, job.result),
    ResolveChildWorkflow: (job) => this.children.resolve(job.seq, job.result),
    ResolveSignalExternalWorkflow: (job) => this.external.resolveSignal(job.seq, job.failure),
    ResolveRequestCancelExternalWorkflow: (job) => this.external.resolveCancel(job.seq, job.failure),
    CancelWorkflow: (job) => this.cancelWorkflow(job.reason),
  };

  /**
   * @param scopeStorage the host's async-context store for CancellationScope tracking (see
   *   worker-interface.ts); without it scopes are tracked through synchronous code only.
   */
  constructor(info: WorkflowRunInfo, hostLog?: HostLog, scopeStorage?: ScopeStorage) {
    this.info = info;
    this.now = info.startTime;
    this.random = new DeterministicRandom(info.runId);
    this.hostLog = hostLog;
    this.scopeStorage = scopeStorage ?? syncScopeStorage();
    this.rootScope = installCancellationScopes(this.scopeStorage, (ms) => this.timers.start(ms, CancellationScope.current(), 'CancellationScope timeout').promise);
  }

  /** The exports of the user's workflow module. */
  registerWorkflows(workflows: Readonly<Record<string, unknown>>): void {
    this.workflows = workflows;
  }

  /**
   * Applies an activation's jobs in the given order, synchronously, checking blocked
   * conditions after each. Promise continuations (the workflow code after each `await`) run
   * afterwards, when the sandbox drains the microtask queue, so every job of the activation
   * is applied before workflow code resumes (SEMANTICS.md item 1).
   */
  activate(activation: Activation): void {
    this.now = activation.timestamp;
    this.isReplaying = activation.isReplaying;
    this.historyLength = activation.historyLength;
    this.historySizeBytes = activation.historySizeBytes ?? 0;
    this.continueAsNewSuggested = activation.continueAsNewSuggested ?? false;
    if (this.taskFailure) return;
    try {
      for (const job of activation.jobs) {
        (this.handlers[job.kind] as (j: ActivationJob) => void)(job);
        if (job.kind !== 'NotifyHasPatch') this.conditions.unblock();
      }
    } catch (err) {
      this.failTask(err);
    }
  }

  /** Called by the host after the microtasks drained; returns how many conditions resolved (0: the activation settled). */
  unblockConditions(): number {
    if (this.taskFailure) return 0;
    return this.conditions.unblock();
  }

  /**
   * Ends the activation: rejects updates still without a handler and hands over the
   * commands (clearing the buffer) and the local activities to run, or the task failure.
   */
  conclude(): ActivationOutcome {
    if (this.taskFailure) return { error: toFailureInfo(this.taskFailure.error), kind: 'WORKFLOW_ERROR' };
    this.messages.rejectBufferedUpdates();
    const requests = this.localActivities.takeRequests();
    const commands = this.commands;
    this.commands = [];
    return requests.length > 0 && !this.closed ? { commands, localActivities: requests } : { commands };
  }

  /**
   * Runs a query handler against the current state. It may not issue commands (its workflow
   * API calls throw) and changes nothing (the random sequence is put back afterwards); should a command appear anyway it is dropped and the
   * query fails.
   */
  query(queryType: string, args: readonly unknown[]): QueryOutcome {
    const before = this.commands.length;
    // A handler that draws random numbers (Math.random, uuid4) must not move the run's
    // sequence: the cached run and a replay of it would then draw different values.
    const random = this.random.snapshot();
    let outcome: QueryOutcome;
    try {
      outcome = this.runReadOnly('a query handler', () => this.messages.query(queryType, args));
    } finally {
      this.random.restore(random);
    }
    if (this.commands.length === before) return outcome;
    this.commands.length = before;
    return {
      failure: { failureType: 'application', type: 'QueryFailed', nonRetryable: true, message: `Query handler '${queryType}' issued workflow commands; query handlers must only read workflow state` },
    };
  }

  /** Records an error that fails the workflow task (not the workflow). The first one wins. */
  failTask(error: unknown): void {
    if (!this.taskFailure) this.taskFailure = { error };
  }

  pushCommand(command: WorkflowCommand): void {
    if (this.closed) return;
    this.commands.push(command);
    if (isTerminalCommand(command)) this.closed = true;
  }

  retract(command: WorkflowCommand): boolean {
    const i = this.commands.indexOf(command);
    if (i < 0) return false;
    this.commands.splice(i, 1);
    return true;
  }

  pushRejection(command: RejectUpdateCommand): void {
    const terminal = this.commands.findIndex(isTerminalCommand);
    if (terminal < 0) this.commands.push(command);
    else this.commands.splice(terminal, 0, command);
  }

  nextSeq(kind: SeqKind): number {
    return this.seqs[kind]++;
  }

  issued(kind: SeqKind): number {
    return this.seqs[kind] - 1;
  }

  assertMayIssueCommands(api: string): void {
    if (this.readOnly === undefined) return;
    throw new DeterminismViolationError(
      `${api} was called from ${this.readOnly}. Query handlers and update validators must be synchronous and only read ` +
        `workflow state: no activities, timers, child workflows, signals, patches or other commands. ` +
        `Change state in an update handler or a signal handler instead.`,
    );
  }

  runReadOnly<T>(what: string, fn: () => T): T {
    const previous = this.readOnly;
    this.readOnly = what;
    try {
      return fn();
    } finally {
      this.readOnly = previous;
    }
  }

  /**
   * ContinueAsNew closes the run with that command; a cancellation after the workflow's
   * cancellation was requested cancels it; any other TemporalFailure fails it; anything else
   * (a bug: TypeError, plain Error) fails only the workflow task (SEMANTICS.md items 5–6).
   */
  handleWorkflowError(err: unknown): void {
    if (this.closed) return;
    if (err instanceof ContinueAsNew) {
      this.pushCommand(err.command);
    } else if (this.cancelRequested && isCancellation(err)) {
      this.pushCommand({ kind: 'CancelWorkflow' });
    } else if (err instanceof TemporalFailure) {
      this.pushCommand({ kind: 'FailWorkflow', failure: toFailureInfo(err) });
    } else {
      this.failTask(err);
    }
  }

  runInRootScope<T>(fn: () => T): T {
    return CancellationScope.current() === this.rootScope ? fn() : this.scopeStorage.run(this.rootScope, fn);
  }

  /** Routes a log line to the worker's logger; silent while replaying, so logs are not repeated. */
  log(level: LogLevel, message: string, attributes?: Readonly<Record<string, unknown>>): void {
    if (this.isReplaying || !this.hostLog) return;
    let json = '{}';
    try {
      json = JSON.stringify(attributes ?? {}) ?? '{}';
    } catch {
      json = '{"attributes":"(not serializable)"}';
    }
    this.hostLog(level, message, json);
  }

  private startWorkflow(job: Extract<ActivationJob, { kind: 'StartWorkflow' }>): void {
    if (this.started) throw new DeterminismViolationError(`StartWorkflow received twice for run ${this.info.runId}; the history is malformed`);
    const fn = this.workflows[job.workflowType];
    if (typeof fn !== 'function') {
      const known = Object.keys(this.workflows).filter((k) => typeof this.workflows[k] === 'function');
      throw new UnknownWorkflowTypeError(job.workflowType, this.info.taskQueue, known);
    }
    this.started = true;
    this.start = {
      parent: job.parent,
      memo: job.memo,
      continuedFromExecutionRunId: job.continuedFromExecutionRunId,
      firstExecutionRunId: job.firstExecutionRunId,
      workflowExecutionTimeoutMs: job.workflowExecutionTimeoutMs,
      workflowRunTimeoutMs: job.workflowRunTimeoutMs,
    };
    this.searchAttributes = jsonClone({ ...(job.searchAttributes ?? {}) });
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(this.runInRootScope(() => (fn as WorkflowFunction)(...job.args)));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (value) => this.completeWorkflow(value),
      (err: unknown) => this.handleWorkflowError(err),
    );
  }

  private completeWorkflow(result: unknown): void {
    if (this.closed) return;
    const problem = findNonJsonValue(result, 'result');
    if (problem) {
      this.failTask(new PayloadNotSerializableError('result', `the workflow's return value: ${problem}`));
      return;
    }
    this.pushCommand({ kind: 'CompleteWorkflow', result: jsonClone(result) });
  }

  /**
   * The workflow's cancellation was requested: the root scope is cancelled, so every
   * cancellable operation settles as its kind prescribes (timers: CancelTimer and a
   * CancelledFailure; activities: their cancellationType; …). Operations started afterwards
   * in cancellable scopes reject at once; non-cancellable scopes (cleanup) still run.
   */
  private cancelWorkflow(reason: string | undefined): void {
    if (this.cancelRequested || this.closed) return;
    this.cancelRequested = new CancelledFailure(reason ?? 'Workflow cancelled');
    cancelScope(this.rootScope, this.cancelRequested);
  }
}
