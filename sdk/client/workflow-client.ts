import { randomUUID } from 'node:crypto';
import type { Engine, StartWorkflowRequest, UpdateStage } from '../../engine/engine.js';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { InvalidArgumentError } from '../../engine/protocol/errors.js';
import { messageName, type SignalDefinition, type UpdateDefinition } from './definitions.js';
import { updateError } from './engine-errors.js';
import { toWorkflowExecutionInfo, type WorkflowExecutionInfo } from './execution-info.js';
import { toEngineConflictPolicy, toEngineUpdateStage, type QueryRejectCondition, type WorkflowUpdateStage } from './policies.js';
import { WorkflowUpdateHandle } from './update-handle.js';
import { claimWithStartOperation, type WithStartWorkflowOperation } from './with-start.js';
import { WorkflowHandle, type HandleResult, type WorkflowUpdateOptions } from './workflow-handle.js';
import {
  compileArgs,
  compileStartOptions,
  type WithWorkflowArgs,
  type Workflow,
  type WorkflowOptions,
  type WorkflowResultType,
  type WorkflowStartOptions,
} from './workflow-options.js';

/** A workflow function or its type name. Passing the function types `args` and the result. */
export type WorkflowTypeOrFunc<W extends Workflow = Workflow> = W | string;

/** Options of `getHandle` (Temporal's `GetWorkflowHandleOptions`). */
export interface GetWorkflowHandleOptions {
  /**
   * The first run of the chain the handle is for: `cancel()` and `terminate()` then refuse
   * to act on a run of another chain that reused the workflow id; `result()` waits for this
   * chain's result.
   */
  readonly firstExecutionRunId?: string;
  /** Whether `result()` follows continue-as-new to the chain's last run. Default true. */
  readonly followRuns?: boolean;
}

/** Options of `signalWithStart` (Temporal's `WorkflowSignalWithStartOptions`). */
export interface WorkflowSignalWithStartOptions<SignalArgs extends any[] = any[]> extends WorkflowOptions {
  /** The signal: a definition (`defineSignal`) or its name. */
  readonly signal: SignalDefinition<SignalArgs> | string;
  /** The signal's arguments. */
  readonly signalArgs?: SignalArgs | Readonly<SignalArgs>;
}

/** Options of `list` (Temporal's `ListOptions`). */
export interface ListOptions {
  /**
   * A filter in Temporal's list filter language (docs/visibility.md), e.g.
   * `WorkflowType = 'order' AND ExecutionStatus = 'Running' AND CustomKeywordField = 'gold'`.
   * Default: every run of the namespace.
   */
  readonly query?: string;
  /** Runs fetched per round trip. Default 100, at most 1000. */
  readonly pageSize?: number;
}

/** What `list()` returns: an async iterable of runs, newest first (Temporal's `AsyncWorkflowListIterable`). */
export interface AsyncWorkflowListIterable extends AsyncIterable<WorkflowExecutionInfo> {
  /** The same runs, each with its whole history, fetched `concurrency` (default 5) at a time, in order. */
  intoHistories(options?: { readonly concurrency?: number }): AsyncIterable<{ readonly workflowId: string; readonly history: { readonly events: HistoryEvent[] } }>;
}

/** What `count()` returns (Temporal's `CountWorkflowExecution`). Chronicle does not group, so `groups` is empty. */
export interface CountWorkflowExecution {
  readonly count: number;
  readonly groups: readonly { readonly count: number; readonly groupValues: readonly unknown[] }[];
}

/** @internal What the Client hands its WorkflowClient. */
export interface WorkflowClientInit {
  readonly engine: Engine;
  readonly identity: string;
  readonly queryRejectCondition: Exclude<QueryRejectCondition, undefined>;
}

/**
 * The workflow operations of a client (Temporal's `client.workflow`): start workflows, get
 * handles on them, send updates that may start them, list and count them.
 */
export class WorkflowClient {
  private readonly engine: Engine;
  private readonly identity: string;
  private readonly queryRejectCondition: Exclude<QueryRejectCondition, undefined>;

  /** @internal Made by `Client`; use `client.workflow`. */
  constructor(init: WorkflowClientInit) {
    this.engine = init.engine;
    this.identity = init.identity;
    this.queryRejectCondition = init.queryRejectCondition;
  }

  /**
   * Starts a workflow and returns a handle on it. The handle addresses the workflow id: after
   * a continue-as-new its signals, queries and updates reach the new run, and `result()`
   * follows the chain.
   *
   * @throws WorkflowExecutionAlreadyStartedError when a run with the id is open (conflict
   *   policy FAIL, the default) or the reuse policy forbids a new run.
   * @throws InvalidArgumentError naming the option at fault; nothing is started then.
   *
   * @example
   * ```ts
   * const handle = await client.workflow.start(order, { workflowId: `order-${id}`, taskQueue: 'orders', args: [id] });
   * ```
   */
  async start<W extends Workflow>(workflowTypeOrFunc: WorkflowTypeOrFunc<W>, options: WorkflowStartOptions<W>): Promise<WorkflowHandle<W>> {
    const workflowType = workflowTypeOf(workflowTypeOrFunc);
    const compiled = compileStartOptions(options);
    const { runId } = await this.engine.startWorkflow({ ...compiled, workflowType, identity: this.identity });
    return this.handle<W>({ workflowId: compiled.workflowId, firstExecutionRunId: runId, runIdForResult: runId, followRuns: options.followRuns });
  }

  /**
   * Starts a workflow and waits for its result (following continue-as-new).
   *
   * @throws WorkflowFailedError when it did not complete; see `WorkflowHandle.result`.
   */
  async execute<W extends Workflow>(workflowTypeOrFunc: WorkflowTypeOrFunc<W>, options: WorkflowStartOptions<W>): Promise<WorkflowResultType<W>> {
    const handle = await this.start(workflowTypeOrFunc, options);
    return handle.result() as Promise<WorkflowResultType<W>>;
  }

  /**
   * Waits for the result of a workflow (or of one run and the chain it continues into).
   * Shorthand for `getHandle(workflowId, runId, options).result()`.
   */
  async result<W extends Workflow = Workflow>(workflowId: string, runId?: string, options?: GetWorkflowHandleOptions): Promise<HandleResult<W>> {
    return this.getHandle<W>(workflowId, runId, options).result();
  }

  /**
   * Signals the open run of `workflowId`, starting a run first if none is open, in one
   * transaction: concurrent callers create exactly one run, and the signal is delivered to
   * the run that was found or started (buffered until its handler is registered). The
   * conflict policy defaults to `USE_EXISTING`; `TERMINATE_EXISTING` replaces the open run;
   * `FAIL` is refused with InvalidArgumentError (an invalid option in Temporal too).
   *
   * @example
   * ```ts
   * const handle = await client.workflow.signalWithStart(cart, {
   *   workflowId: `cart-${userId}`, taskQueue: 'shop', args: [userId],
   *   signal: addItemSignal, signalArgs: [item],
   * });
   * ```
   */
  async signalWithStart<W extends Workflow, SignalArgs extends any[] = any[]>(
    workflowTypeOrFunc: WorkflowTypeOrFunc<W>,
    options: WithWorkflowArgs<W, WorkflowSignalWithStartOptions<SignalArgs>>,
  ): Promise<WorkflowHandle<W> & { readonly signaledRunId: string }> {
    const workflowType = workflowTypeOf(workflowTypeOrFunc);
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'is required: { workflowId, taskQueue, args, signal, signalArgs }');
    const { signal, signalArgs, ...startOptions } = options as WorkflowSignalWithStartOptions<SignalArgs> & { readonly args?: unknown[] };
    const signalName = messageName(signal, 'signal');
    const compiledSignalArgs = compileArgs(signalArgs, 'signalArgs', 'must be an array of the signal’s arguments');
    const compiled = compileStartOptions(startOptions, 'USE_EXISTING');
    const { runId } = await this.engine.signalWithStart({ ...compiled, workflowType, identity: this.identity, signalName, signalArgs: compiledSignalArgs });
    const handle = this.handle<W>({ workflowId: compiled.workflowId, runIdForResult: runId, followRuns: options.followRuns });
    Object.defineProperty(handle, 'signaledRunId', { value: runId, enumerable: true });
    return handle as WorkflowHandle<W> & { readonly signaledRunId: string };
  }

  /**
   * Sends an update to the workflow, starting it first if it is not running (per the
   * operation's conflict policy), atomically, and returns the update's result. The handle on
   * the run is `startWorkflowOperation.workflowHandle()`, whether or not the update succeeds.
   *
   * @throws WorkflowUpdateFailedError when the validator rejected the update or its handler
   *   failed (the run was still started).
   * @throws WorkflowExecutionAlreadyStartedError with conflict policy FAIL when a run is open.
   *
   * @example
   * ```ts
   * const op = WithStartWorkflowOperation.create(account, { workflowId: 'acct-1', taskQueue: 'bank', args: [init], workflowIdConflictPolicy: 'USE_EXISTING' });
   * const balance = await client.workflow.executeUpdateWithStart(depositUpdate, { args: [100], startWorkflowOperation: op });
   * ```
   */
  async executeUpdateWithStart<W extends Workflow, Ret, Args extends any[]>(
    updateDef: UpdateDefinition<Ret, Args> | string,
    options: WorkflowUpdateOptions & { readonly args?: Args | Readonly<Args>; readonly startWorkflowOperation: WithStartWorkflowOperation<W> },
  ): Promise<Ret> {
    const handle = await this.updateWithStart<W, Ret>(updateDef, options, 'COMPLETED');
    return handle.result();
  }

  /**
   * Like `executeUpdateWithStart`, but returns a handle on the update once the workflow has
   * accepted (or rejected) it. `waitForStage` must be `WorkflowUpdateStage.ACCEPTED`.
   */
  async startUpdateWithStart<W extends Workflow, Ret, Args extends any[]>(
    updateDef: UpdateDefinition<Ret, Args> | string,
    options: WorkflowUpdateOptions & {
      readonly args?: Args | Readonly<Args>;
      readonly waitForStage: typeof WorkflowUpdateStage.ACCEPTED;
      readonly startWorkflowOperation: WithStartWorkflowOperation<W>;
    },
  ): Promise<WorkflowUpdateHandle<Ret>> {
    const stage = toEngineUpdateStage(options?.waitForStage) === 'COMPLETED' ? 'COMPLETED' : 'ACCEPTED';
    return this.updateWithStart<W, Ret>(updateDef, options, stage);
  }

  private async updateWithStart<W extends Workflow, Ret>(
    updateDef: unknown,
    options: WorkflowUpdateOptions & { readonly args?: readonly unknown[]; readonly startWorkflowOperation: WithStartWorkflowOperation<W> },
    waitForStage: UpdateStage,
  ): Promise<WorkflowUpdateHandle<Ret>> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'is required: { args, startWorkflowOperation }');
    const op = options.startWorkflowOperation;
    const settle = claimWithStartOperation(op);
    let start: StartWorkflowRequest;
    let update: { updateId: string; name: string; args: unknown[] };
    try {
      const conflict = toEngineConflictPolicy(op.options?.workflowIdConflictPolicy, 'startWorkflowOperation.options.workflowIdConflictPolicy');
      if (conflict !== 'USE_EXISTING' && conflict !== 'FAIL') {
        throw new InvalidArgumentError(
          'startWorkflowOperation.options.workflowIdConflictPolicy',
          `must be 'USE_EXISTING' or 'FAIL' for update-with-start, got ${conflict === undefined ? 'nothing' : `'${conflict}'`}`,
        );
      }
      start = { ...compileStartOptions(op.options), workflowType: workflowTypeOf(op.workflowTypeOrFunc), identity: this.identity };
      const updateId = options.updateId ?? randomUUID();
      if (typeof updateId !== 'string' || updateId.length === 0) throw new InvalidArgumentError('updateId', 'must be a non-empty string');
      update = { updateId, name: messageName(updateDef, 'update'), args: compileArgs(options.args, 'args', 'must be an array of the update handler’s arguments') };
    } catch (err) {
      settle.reject(err);
      throw err;
    }
    let response: Awaited<ReturnType<Engine['updateWithStart']>>;
    try {
      response = await this.engine.updateWithStart({ start, update: { ...update, identity: this.identity, waitForStage } });
    } catch (err) {
      settle.reject(err);
      throw updateError(err);
    }
    settle.resolve(
      this.handle<W>({
        workflowId: start.workflowId,
        ...(response.started ? { firstExecutionRunId: response.runId } : {}),
        runIdForResult: response.runId,
        followRuns: op.options.followRuns,
      }),
    );
    return new WorkflowUpdateHandle<Ret>(this.engine, response.update.updateId, start.workflowId, response.update.runId, response.update.outcome);
  }

  /**
   * A handle on an existing workflow. Nothing is checked until a method is called (which
   * then throws WorkflowNotFoundError for an unknown id).
   *
   * - `getHandle(workflowId)`: the workflow's current (or latest) run, whichever it is when
   *   each method is called.
   * - `getHandle(workflowId, runId)`: exactly that run; `result()` still follows it into
   *   continue-as-new unless `followRuns: false`.
   */
  getHandle<W = Workflow>(workflowId: string, runId?: string, options: GetWorkflowHandleOptions = {}): WorkflowHandle<W> {
    if (typeof workflowId !== 'string' || !workflowId) throw new InvalidArgumentError('workflowId', 'must be a non-empty string');
    if (runId !== undefined && (typeof runId !== 'string' || !runId)) throw new InvalidArgumentError('runId', 'must be a non-empty string when given');
    return this.handle<W>({
      workflowId,
      ...(runId !== undefined ? { runId } : {}),
      ...(options.firstExecutionRunId !== undefined ? { firstExecutionRunId: options.firstExecutionRunId } : {}),
      runIdForResult: runId ?? options.firstExecutionRunId,
      followRuns: options.followRuns,
    });
  }

  /**
   * The runs matching a list filter, newest first, as an async iterable that fetches a page
   * at a time. Unlike Temporal's (eventually consistent) visibility store, Chronicle reads
   * the runs themselves, so a run appears as soon as its start committed.
   *
   * @throws InvalidArgumentError (field `query`) for a filter that does not parse, naming the
   *   position; thrown when iteration begins.
   *
   * @example
   * ```ts
   * for await (const run of client.workflow.list({ query: `WorkflowType = 'order' AND ExecutionStatus = 'Running'` })) {
   *   console.log(run.workflowId, run.status.name, run.startTime);
   * }
   * ```
   */
  list(options: ListOptions = {}): AsyncWorkflowListIterable {
    const engine = this.engine;
    const { query, pageSize } = options ?? {};
    async function* runs(): AsyncGenerator<WorkflowExecutionInfo> {
      let nextPageToken: string | undefined;
      do {
        const page = await engine.listWorkflows({ ...(query !== undefined ? { query } : {}), ...(pageSize !== undefined ? { pageSize } : {}), ...(nextPageToken ? { nextPageToken } : {}) });
        for (const raw of page.executions) yield toWorkflowExecutionInfo(raw);
        nextPageToken = page.nextPageToken;
      } while (nextPageToken);
    }
    return {
      [Symbol.asyncIterator]: () => runs(),
      intoHistories: ({ concurrency = 5 } = {}) => ({
        [Symbol.asyncIterator]: () => withHistories(runs(), (info) => this.getHandle(info.workflowId, info.runId).fetchHistory(), concurrency),
      }),
    };
  }

  /** How many runs match a list filter (all runs of the namespace without one). */
  async count(query?: string): Promise<CountWorkflowExecution> {
    return { count: await this.engine.countWorkflows(query), groups: [] };
  }

  private handle<W>(init: { workflowId: string; runId?: string; firstExecutionRunId?: string; runIdForResult?: string; followRuns?: boolean | undefined }): WorkflowHandle<W> {
    return new WorkflowHandle<W>({
      engine: this.engine,
      identity: this.identity,
      queryRejectCondition: this.queryRejectCondition,
      workflowId: init.workflowId,
      ...(init.runId !== undefined ? { runId: init.runId } : {}),
      ...(init.firstExecutionRunId !== undefined ? { firstExecutionRunId: init.firstExecutionRunId } : {}),
      ...(init.runIdForResult !== undefined ? { runIdForResult: init.runIdForResult } : {}),
      ...(init.followRuns !== undefined ? { followRuns: init.followRuns } : {}),
    });
  }
}

/** The type name of a workflow function or name. */
export function workflowTypeOf(workflow: unknown): string {
  if (typeof workflow === 'string' && workflow.length > 0) return workflow;
  if (typeof workflow === 'function' && workflow.name) return workflow.name;
  throw new InvalidArgumentError('workflow', 'must be a workflow function (exported from your workflows file) or its name as a string');
}

/**
 * Maps each run to its history, keeping `concurrency` fetches in flight and yielding in the
 * runs' order.
 */
async function* withHistories(
  runs: AsyncIterator<WorkflowExecutionInfo>,
  fetch: (info: WorkflowExecutionInfo) => Promise<{ events: HistoryEvent[] }>,
  concurrency: number,
): AsyncGenerator<{ readonly workflowId: string; readonly history: { readonly events: HistoryEvent[] } }> {
  const width = Math.max(1, Math.floor(concurrency));
  const inFlight: Promise<{ workflowId: string; history: { events: HistoryEvent[] } }>[] = [];
  let done = false;
  const refill = async (): Promise<void> => {
    while (!done && inFlight.length < width) {
      const next = await runs.next();
      if (next.done) {
        done = true;
        break;
      }
      const info = next.value;
      const p = fetch(info).then((history) => ({ workflowId: info.workflowId, history }));
      p.catch(() => undefined); // surfaced when its turn comes
      inFlight.push(p);
    }
  };
  await refill();
  while (inFlight.length > 0) {
    const item = await inFlight.shift()!;
    await refill();
    yield item;
  }
}
