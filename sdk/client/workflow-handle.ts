import { randomUUID } from 'node:crypto';
import type { Engine, UpdateStatus, WorkflowOutcome, WorkflowRef } from '../../engine/engine.js';
import type { HistoryEvent, RetryState, TimeoutType } from '../../engine/protocol/index.js';
import { InvalidArgumentError, WorkflowNotFoundError } from '../../engine/protocol/errors.js';
import { CancelledFailure, TerminatedFailure, TimeoutFailure, fromFailureInfo } from '../workflow/errors.js';
import { messageName, type QueryDefinition, type SignalDefinition, type UpdateDefinition } from './definitions.js';
import { isEngineError, queryError, updateError } from './engine-errors.js';
import { QueryRejectedError, WorkflowContinuedAsNewError, WorkflowFailedError } from './errors.js';
import { toWorkflowExecutionDescription, type WorkflowExecutionDescription } from './execution-info.js';
import { toEngineUpdateStage, type QueryRejectCondition, type WorkflowUpdateStage } from './policies.js';
import { WorkflowUpdateHandle, resultOf } from './update-handle.js';
import { checkPayload, compileArgs, type Workflow, type WorkflowResultType } from './workflow-options.js';

/**
 * What `result()` resolves to for a handle typed by `T`: the workflow function's result when
 * `T` is a workflow function (`WorkflowHandle<typeof order>`, as in Temporal), else `T` itself
 * (`WorkflowHandle<number>`, Chronicle's earlier spelling).
 */
export type HandleResult<T> = T extends Workflow ? WorkflowResultType<T> : T;

/** Options of `executeUpdate` and `startUpdate` (Temporal's `WorkflowUpdateOptions`). */
export interface WorkflowUpdateOptions {
  /**
   * The update's id, its idempotency key: sending an update again with the same id returns
   * the first one's outcome instead of running it twice. Default: a random UUID.
   */
  readonly updateId?: string;
}

/** Options of `getUpdateHandle`. */
export interface GetWorkflowUpdateHandleOptions {
  /** The run that received the update; default the handle's run (or the workflow's current run). */
  readonly workflowRunId?: string;
}

/** @internal How the client makes a handle. */
export interface WorkflowHandleInit {
  readonly engine: Engine;
  readonly identity: string;
  readonly workflowId: string;
  /** Operations address exactly this run; undefined: the workflow id's current run. */
  readonly runId?: string;
  /** Cancel and terminate act only on a run of the chain that began with this run. */
  readonly firstExecutionRunId?: string;
  /** The run whose result `result()` waits for (and follows); default `runId`. */
  readonly runIdForResult?: string;
  readonly followRuns?: boolean;
  readonly queryRejectCondition?: Exclude<QueryRejectCondition, undefined>;
}

/**
 * A handle on a workflow (Temporal's `WorkflowHandle`): start, signal, query, update, wait
 * for, describe, cancel or terminate it. Cheap to make; every method is one or a few engine
 * calls, and nothing is cached, so a handle can be kept for as long as the workflow lives.
 *
 * Which run a handle addresses: a handle from `start`, `signalWithStart` or
 * `getHandle(workflowId)` addresses the workflow id, so after a continue-as-new its signals,
 * queries and updates reach the new run and `result()` follows the chain to the last run. A
 * handle from `getHandle(workflowId, runId)` addresses that run only (its `result()` still
 * follows the run into continue-as-new unless `followRuns: false`).
 *
 * @example
 * ```ts
 * // workflows.ts: export const addSignal = defineSignal<[number]>('add');
 * //               export const totalQuery = defineQuery<number>('total');
 * //               export const depositUpdate = defineUpdate<number, [number]>('deposit');
 * const handle = await client.workflow.start(ledger, { workflowId: 'ledger-7', taskQueue: 'ledgers', args: [0] });
 * await handle.signal(addSignal, 5);
 * const total = await handle.query(totalQuery); // 5, once the signal was applied
 * const after = await handle.executeUpdate(depositUpdate, { args: [10] }); // 15
 * await handle.cancel();
 * await handle.result(); // WorkflowFailedError, cause CancelledFailure (if the workflow lets the cancellation end it)
 * ```
 */
export class WorkflowHandle<T = Workflow> {
  /** The workflow id this handle addresses. */
  readonly workflowId: string;
  /**
   * The run this handle is bound to (`getHandle(workflowId, runId)`); undefined when it
   * addresses the workflow id's current run.
   */
  readonly runId: string | undefined;
  /** The run `start()` started (the first run of the chain it follows); set on handles from `start`. */
  readonly firstExecutionRunId: string | undefined;
  private readonly engine: Engine;
  private readonly identity: string;
  private readonly runIdForResult: string | undefined;
  private readonly followRuns: boolean;
  private readonly queryRejectCondition: Exclude<QueryRejectCondition, undefined>;

  /** @internal Made by `client.workflow` (`start`, `getHandle`, …). */
  constructor(init: WorkflowHandleInit) {
    this.engine = init.engine;
    this.identity = init.identity;
    this.workflowId = init.workflowId;
    this.runId = init.runId;
    this.firstExecutionRunId = init.firstExecutionRunId;
    this.runIdForResult = init.runIdForResult ?? init.runId;
    this.followRuns = init.followRuns ?? true;
    this.queryRejectCondition = init.queryRejectCondition ?? 'NONE';
  }

  private get ref(): WorkflowRef {
    return this.runId !== undefined ? { workflowId: this.workflowId, runId: this.runId } : { workflowId: this.workflowId };
  }

  /**
   * Waits for the workflow to close and returns its result. When a run continues as new, it
   * follows the chain to the next run and waits for that (unless the handle was made with
   * `followRuns: false`, which throws `WorkflowContinuedAsNewError` instead).
   *
   * @throws WorkflowFailedError when the run failed (`cause`: the failure it raised), was
   *   cancelled (`cause`: `CancelledFailure('Workflow canceled')`), terminated (`cause`:
   *   `TerminatedFailure`) or timed out (`cause`: `TimeoutFailure`).
   * @throws WorkflowNotFoundError when no such workflow (or run) exists.
   *
   * `signal` (a Chronicle extension) stops the wait with an AbortError; the workflow goes on.
   * The type parameter (also an extension) names the result type of an untyped handle:
   * `getHandle(id).result<number[]>()`.
   */
  async result<R = HandleResult<T>>(options: { readonly signal?: AbortSignal } = {}): Promise<R> {
    let ref: WorkflowRef = this.runIdForResult !== undefined ? { workflowId: this.workflowId, runId: this.runIdForResult } : { workflowId: this.workflowId };
    for (;;) {
      const outcome: WorkflowOutcome = await this.engine.awaitOutcome(ref, options.signal ? { signal: options.signal } : {});
      switch (outcome.status) {
        case 'COMPLETED':
          return outcome.result as R;
        case 'FAILED':
          throw new WorkflowFailedError('Workflow execution failed', fromFailureInfo(outcome.failure), 'NON_RETRYABLE_FAILURE');
        case 'CANCELLED': {
          const failure = new CancelledFailure('Workflow canceled', outcome.details !== undefined ? [outcome.details] : []);
          failure.stack = '';
          throw new WorkflowFailedError('Workflow execution cancelled', failure, 'NON_RETRYABLE_FAILURE');
        }
        case 'TERMINATED': {
          const message = outcome.reason || 'Workflow execution terminated';
          const failure = new TerminatedFailure(message);
          failure.stack = '';
          throw new WorkflowFailedError(message, failure, 'NON_RETRYABLE_FAILURE');
        }
        case 'TIMED_OUT': {
          const { timeoutType, retryState } = await this.timeoutFacts(outcome.runId);
          const failure = new TimeoutFailure('Workflow execution timed out', undefined, timeoutType);
          failure.stack = '';
          throw new WorkflowFailedError('Workflow execution timed out', failure, retryState);
        }
        case 'CONTINUED_AS_NEW':
          if (!this.followRuns) throw new WorkflowContinuedAsNewError('Workflow execution continued as new', outcome.newRunId);
          ref = { workflowId: this.workflowId, runId: outcome.newRunId };
          break;
      }
    }
  }

  /** Which timeout ended a run, from its closing event (the outcome does not carry it). */
  private async timeoutFacts(runId: string): Promise<{ timeoutType: TimeoutType; retryState: RetryState }> {
    const fallback = { timeoutType: 'WORKFLOW_EXECUTION_TIMEOUT' as TimeoutType, retryState: 'TIMEOUT' as RetryState };
    try {
      const ref = { workflowId: this.workflowId, runId };
      const { historyLength } = await this.engine.describeWorkflow(ref);
      const { events } = await this.engine.getHistory(ref, { fromEventId: Math.max(1, historyLength), pageSize: 1 });
      const last = events[events.length - 1];
      if (last?.eventType === 'WorkflowExecutionTimedOut') return { timeoutType: last.attributes.timeoutType, retryState: last.attributes.retryState };
    } catch {
      // The run's history may be gone (retention); the outcome alone still says it timed out.
    }
    return fallback;
  }

  /**
   * Sends a signal. It is recorded in the run's history and delivered to the handler for its
   * name; a signal that arrives before the workflow registered that handler waits for it
   * (never dropped). Resolves once the engine stored the signal, not when the handler ran.
   *
   * @param def a signal definition (`defineSignal`) or the signal's name.
   * @throws WorkflowNotFoundError when no such workflow exists; WorkflowNotRunningError when
   *   it is closed.
   *
   * @example
   * ```ts
   * await handle.signal(approveSignal, { by: 'grace' });
   * await handle.signal('approve', { by: 'grace' }); // by name: arguments are not type-checked
   * ```
   */
  async signal<Args extends any[] = []>(def: SignalDefinition<Args> | string, ...args: Args): Promise<void> {
    const signalName = messageName(def, 'signal');
    args.forEach((a, i) => checkPayload(a, `args[${i}]`));
    await this.engine.signalWorkflow(this.ref, { signalName, args, identity: this.identity });
  }

  /**
   * Runs a query handler and returns its answer. Queries read the workflow's state as of its
   * last completed workflow task, write nothing to the history, and work on closed runs too.
   * A query sent right after `start()` waits until the first workflow task has registered the
   * handlers.
   *
   * @param def a query definition (`defineQuery`) or the query's name.
   * @throws QueryNotRegisteredError when the workflow has no handler for that query type.
   * @throws QueryFailedError (a ChronicleError) when the handler threw; `cause` is its failure.
   *   (Temporal's client throws QueryNotRegisteredError for this case too.)
   * @throws QueryTimeoutError (a ChronicleError) when no worker answered in time.
   * @throws QueryRejectedError when the client's `queryRejectCondition` refuses the run's status.
   */
  async query<Ret, Args extends any[] = []>(def: QueryDefinition<Ret, Args> | string, ...args: Args): Promise<Ret> {
    const queryType = messageName(def, 'query');
    args.forEach((a, i) => checkPayload(a, `args[${i}]`));
    let ref = this.ref;
    if (this.queryRejectCondition !== 'NONE') {
      const { status, runId } = await this.engine.describeWorkflow(ref);
      const rejected = this.queryRejectCondition === 'NOT_OPEN' ? status !== 'RUNNING' : status !== 'RUNNING' && status !== 'COMPLETED';
      if (rejected) throw new QueryRejectedError(status);
      ref = { workflowId: this.workflowId, runId };
    }
    try {
      return (await this.engine.queryWorkflow(ref, { queryType, args })) as Ret;
    } catch (err) {
      throw queryError(err);
    }
  }

  /**
   * Sends an update and waits for its result. The workflow's validator (if any) runs first: a
   * rejection writes nothing to the history. An accepted update is recorded and its handler
   * runs; what it returns is the result.
   *
   * @param def an update definition (`defineUpdate`) or the update's name.
   * @param options `args` (required when the update takes arguments) and `updateId`.
   * @throws WorkflowUpdateFailedError when the validator rejected it, the handler threw a
   *   `TemporalFailure` (the workflow goes on), or the run closed before the handler finished.
   * @throws WorkflowNotFoundError / WorkflowNotRunningError when there is no open run.
   *
   * @example
   * ```ts
   * const balance = await handle.executeUpdate(depositUpdate, { args: [100] });
   * ```
   */
  executeUpdate<Ret, Args extends [any, ...any[]], Name extends string = string>(
    def: UpdateDefinition<Ret, Args, Name> | string,
    options: WorkflowUpdateOptions & { readonly args: Args },
  ): Promise<Ret>;
  executeUpdate<Ret, Args extends [], Name extends string = string>(
    def: UpdateDefinition<Ret, Args, Name> | string,
    options?: WorkflowUpdateOptions & { readonly args?: Args },
  ): Promise<Ret>;
  async executeUpdate(def: UpdateDefinition<unknown, any[]> | string, options?: WorkflowUpdateOptions & { readonly args?: readonly unknown[] }): Promise<unknown> {
    const status = await this.sendUpdate(def, options, 'COMPLETED');
    return resultOf<unknown>(status.outcome!);
  }

  /**
   * Sends an update and returns a handle on it once the workflow has accepted it (or rejected
   * it). `waitForStage` must be `WorkflowUpdateStage.ACCEPTED`, as in Temporal.
   *
   * @throws WorkflowNotFoundError / WorkflowNotRunningError when there is no open run. A
   *   rejection by the validator is reported by the handle's `result()`.
   *
   * @example
   * ```ts
   * const update = await handle.startUpdate(depositUpdate, { args: [100], waitForStage: WorkflowUpdateStage.ACCEPTED });
   * const balance = await update.result();
   * ```
   */
  startUpdate<Ret, Args extends [any, ...any[]], Name extends string = string>(
    def: UpdateDefinition<Ret, Args, Name> | string,
    options: WorkflowUpdateOptions & { readonly args: Args; readonly waitForStage: typeof WorkflowUpdateStage.ACCEPTED },
  ): Promise<WorkflowUpdateHandle<Ret>>;
  startUpdate<Ret, Args extends [], Name extends string = string>(
    def: UpdateDefinition<Ret, Args, Name> | string,
    options: WorkflowUpdateOptions & { readonly args?: Args; readonly waitForStage: typeof WorkflowUpdateStage.ACCEPTED },
  ): Promise<WorkflowUpdateHandle<Ret>>;
  async startUpdate(
    def: UpdateDefinition<unknown, any[]> | string,
    options: WorkflowUpdateOptions & { readonly args?: readonly unknown[]; readonly waitForStage: WorkflowUpdateStage },
  ): Promise<WorkflowUpdateHandle<unknown>> {
    // As in Temporal, a stage before ACCEPTED is raised to ACCEPTED: an update handle is handed
    // out only once the update is durable and the workflow has seen it.
    const stage = toEngineUpdateStage(options?.waitForStage) === 'COMPLETED' ? 'COMPLETED' : 'ACCEPTED';
    const status = await this.sendUpdate(def, options, stage);
    return new WorkflowUpdateHandle<unknown>(this.engine, status.updateId, this.workflowId, status.runId, status.outcome);
  }

  /**
   * A handle on an update sent earlier (by this or any other client), by its id. Nothing is
   * checked until `result()`.
   */
  getUpdateHandle<Ret>(updateId: string, options: GetWorkflowUpdateHandleOptions = {}): WorkflowUpdateHandle<Ret> {
    if (typeof updateId !== 'string' || updateId.length === 0) throw new InvalidArgumentError('updateId', 'must be a non-empty string');
    return new WorkflowUpdateHandle<Ret>(this.engine, updateId, this.workflowId, options.workflowRunId ?? this.runId);
  }

  private async sendUpdate(def: unknown, options: (WorkflowUpdateOptions & { readonly args?: readonly unknown[] }) | undefined, waitForStage: 'ACCEPTED' | 'COMPLETED'): Promise<UpdateStatus> {
    const name = messageName(def, 'update');
    const args = compileArgs(options?.args, 'args', 'must be an array of the update handler’s arguments, e.g. { args: [100] }');
    const updateId = options?.updateId ?? randomUUID();
    if (typeof updateId !== 'string' || updateId.length === 0) throw new InvalidArgumentError('updateId', 'must be a non-empty string');
    try {
      return await this.engine.updateWorkflow(this.ref, { updateId, name, args, identity: this.identity, waitForStage });
    } catch (err) {
      throw updateError(err);
    }
  }

  /**
   * Describes the run: Temporal's fields (`status.name` RUNNING, COMPLETED, FAILED, CANCELLED,
   * TERMINATED, CONTINUED_AS_NEW or TIMED_OUT; `historyLength`, `historySize`, times as
   * Dates, `searchAttributes`, `memo`, `parentExecution`), Chronicle's progress counters, and
   * the engine's description under `raw`.
   */
  async describe(): Promise<WorkflowExecutionDescription> {
    return toWorkflowExecutionDescription(await this.engine.describeWorkflow(this.ref));
  }

  /** The run's whole history, read page by page (the current run, for a handle on a workflow id). */
  async fetchHistory(): Promise<{ events: HistoryEvent[] }> {
    const events: HistoryEvent[] = [];
    let ref = this.ref;
    if (ref.runId === undefined) {
      // Pin the run first, so that pages of two runs are never mixed when one continues as new while we read.
      ref = { workflowId: this.workflowId, runId: (await this.engine.describeWorkflow(ref)).runId };
    }
    let from: number | undefined = 1;
    while (from !== undefined) {
      const page = await this.engine.getHistory(ref, { fromEventId: from, pageSize: 1000 });
      events.push(...page.events);
      from = page.nextEventId;
    }
    return { events };
  }

  /**
   * Requests cancellation: at its next workflow task the workflow's root scope is cancelled,
   * so awaited activities, timers and children reject with `CancelledFailure`; the workflow
   * decides how to end (rethrowing ends it CANCELLED). Idempotent while the run is open.
   * A handle from `start()` only cancels a run of the chain it started.
   */
  async cancel(reason?: string): Promise<void> {
    await this.onChainRun((ref) => this.engine.requestCancelWorkflow(ref, { ...(reason ? { reason } : {}), identity: this.identity }));
  }

  /**
   * Ends the run at once, without running workflow code: pending activities and timers are
   * dropped, and `result()` throws WorkflowFailedError with a `TerminatedFailure` cause.
   * A handle from `start()` only terminates a run of the chain it started.
   */
  async terminate(reason?: string): Promise<void> {
    await this.onChainRun((ref) => this.engine.terminateWorkflow(ref, { ...(reason ? { reason } : {}), identity: this.identity }));
  }

  /**
   * Runs `op` on the run this handle addresses. A handle from `start()` (which has
   * `firstExecutionRunId` but no `runId`) must not act on a run of a *later* chain that reused
   * the workflow id, so it resolves the current run and checks it belongs to its chain; if
   * that run continues as new in between, it tries the next one.
   */
  private async onChainRun(op: (ref: WorkflowRef) => Promise<void>): Promise<void> {
    if (this.runId !== undefined || this.firstExecutionRunId === undefined) return op(this.ref);
    for (let attempt = 0; ; attempt++) {
      const current = await this.engine.describeWorkflow({ workflowId: this.workflowId });
      const chain = current.firstExecutionRunId ?? current.runId;
      if (current.runId !== this.firstExecutionRunId && chain !== this.firstExecutionRunId && current.firstExecutionRunId !== undefined) {
        throw new WorkflowNotFoundError(this.workflowId, this.firstExecutionRunId);
      }
      try {
        return await op({ workflowId: this.workflowId, runId: current.runId });
      } catch (err) {
        // The run closed (it continued as new) between describe and op: act on its successor.
        if (attempt < 5 && isEngineError(err, 'WorkflowNotRunningError') && (err as { status?: unknown }).status === 'CONTINUED_AS_NEW') continue;
        throw err;
      }
    }
  }
}
