import { parseDuration, type Duration } from '../../engine/protocol/durations.js';
import { InvalidArgumentError } from '../../engine/protocol/errors.js';
import { findNonJsonValue } from '../../engine/protocol/payloads.js';
import { CancellationScope } from './cancellation-scope.js';
import {
  resolveChildCancellationType,
  resolveParentClosePolicy,
  type ChildWorkflowCancellationType,
  type ParentClosePolicy,
} from './cancellation-types.js';
import { getActivator } from './context.js';
import type { SignalDefinition } from './definitions.js';
import type { ChildStartRequest } from './runtime/children.js';
import { normalizeSearchAttributes, type SearchAttributesInput } from './search-attributes.js';

/** A workflow function. */
export type Workflow = (...args: any[]) => Promise<any>;

/** What a workflow function's promise resolves to. */
export type WorkflowResultType<W extends Workflow> = ReturnType<W> extends Promise<infer R> ? R : never;

/** `options` with `args` typed from the workflow function (required when it takes arguments). */
export type WithWorkflowArgs<W extends Workflow, T> = T &
  (Parameters<W> extends [any, ...any[]] ? { args: Parameters<W> | Readonly<Parameters<W>> } : { args?: Parameters<W> | Readonly<Parameters<W>> });

/** Options of `startChild`/`executeChild` (Temporal's `ChildWorkflowOptions`, the ones Chronicle has). */
export interface ChildWorkflowOptions {
  /** Default: `uuid4()` from the run's seeded generator (the same on every replay). */
  readonly workflowId?: string;
  /** Default: the parent's task queue. */
  readonly taskQueue?: string;
  readonly args?: readonly unknown[];
  /** Default `ParentClosePolicy.TERMINATE`. */
  readonly parentClosePolicy?: ParentClosePolicy | `PARENT_CLOSE_POLICY_${ParentClosePolicy}`;
  /** Default `ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED`. */
  readonly cancellationType?: ChildWorkflowCancellationType;
  readonly searchAttributes?: SearchAttributesInput;
  /** Non-indexed data shown by describe(); JSON values. */
  readonly memo?: Readonly<Record<string, unknown>>;
  /** Bounds the child's whole chain of runs. */
  readonly workflowExecutionTimeout?: Duration;
  /** Bounds each run of the child. */
  readonly workflowRunTimeout?: Duration;
}

/** A started child workflow (Temporal's `ChildWorkflowHandle`). */
export interface ChildWorkflowHandle<T extends Workflow = Workflow> {
  readonly workflowId: string;
  /** The child's first run (its run id when it started). */
  readonly firstExecutionRunId: string;
  /**
   * The child's result. Rejects with `ChildWorkflowFailure` when it failed, was cancelled,
   * terminated or timed out (`cause` says which), as Temporal does.
   */
  result(): Promise<WorkflowResultType<T>>;
  /** Signals the child (delivered only if it is still this run's child). Resolves once delivered. */
  signal<Args extends any[] = [], Name extends string = string>(def: SignalDefinition<Args, Name> | string, ...args: Args): Promise<void>;
}

/**
 * Starts a child workflow and resolves once it started (StartChildWorkflow command; the
 * engine starts the child in the same transaction). Rejects with
 * `WorkflowExecutionAlreadyStartedError` when a run with that workflow id is open.
 *
 * The child belongs to the current CancellationScope: cancelling the scope cancels the child
 * as `cancellationType` says (before it started, `startChild` rejects with the
 * CancelledFailure). When the parent run closes, `parentClosePolicy` applies to the child.
 *
 * @example
 * const child = await startChild(processItem, { args: [item], workflowId: `item-${item.id}` });
 * const outcome = await child.result();
 */
export function startChild<T extends Workflow>(workflowTypeOrFunc: string | T, options?: WithWorkflowArgs<T, ChildWorkflowOptions>): Promise<ChildWorkflowHandle<T>>;
export async function startChild<T extends Workflow>(workflowTypeOrFunc: string | T, options: ChildWorkflowOptions = {}): Promise<ChildWorkflowHandle<T>> {
  const activator = getActivator('startChild()');
  const request = resolveChildOptions(workflowTypeOrFunc, options, () => activator.random.uuid4());
  const started = await activator.children.start(request, CancellationScope.current());
  return {
    workflowId: started.workflowId,
    firstExecutionRunId: started.runId,
    result: () => started.result as Promise<WorkflowResultType<T>>,
    signal: (def, ...args) =>
      getActivator('ChildWorkflowHandle.signal()').external.signal(
        { workflowId: started.workflowId, childWorkflowOnly: true },
        typeof def === 'string' ? def : def.name,
        args,
        CancellationScope.current(),
      ),
  };
}

/**
 * Starts a child workflow and returns its result: `startChild(...)` then `result()`.
 *
 * @example
 * const receipt = await executeChild(chargeOrder, { args: [orderId] });
 */
export function executeChild<T extends Workflow>(workflowTypeOrFunc: string | T, options?: WithWorkflowArgs<T, ChildWorkflowOptions>): Promise<WorkflowResultType<T>>;
export async function executeChild<T extends Workflow>(workflowTypeOrFunc: string | T, options: ChildWorkflowOptions = {}): Promise<WorkflowResultType<T>> {
  const handle = await startChild<T>(workflowTypeOrFunc, options as WithWorkflowArgs<T, ChildWorkflowOptions>);
  return handle.result();
}

function resolveChildOptions(workflowTypeOrFunc: unknown, options: ChildWorkflowOptions, newId: () => string): ChildStartRequest {
  const workflowType = typeof workflowTypeOrFunc === 'function' ? workflowTypeOrFunc.name : workflowTypeOrFunc;
  if (typeof workflowType !== 'string' || workflowType === '') {
    throw new InvalidArgumentError('workflowType', `pass the child's workflow function or its type name (a non-empty string), got ${JSON.stringify(workflowType)}`);
  }
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', `expected an object of child workflow options, got ${String(options)}`);
  const workflowId = options.workflowId ?? newId();
  if (typeof workflowId !== 'string' || workflowId === '') throw new InvalidArgumentError('workflowId', `expected a non-empty string, got ${JSON.stringify(workflowId)}; omit it for a random id`);
  if (options.taskQueue !== undefined && (typeof options.taskQueue !== 'string' || options.taskQueue === '')) {
    throw new InvalidArgumentError('taskQueue', `expected a non-empty string, got ${JSON.stringify(options.taskQueue)}; omit it to use the parent's task queue`);
  }
  const args = options.args ?? [];
  if (!Array.isArray(args)) throw new InvalidArgumentError('args', `expected an array of the child's arguments, got ${typeof args}`);
  const memo = options.memo;
  if (memo !== undefined) {
    const problem = typeof memo === 'object' && memo !== null && !Array.isArray(memo) ? findNonJsonValue(memo, 'memo') : 'memo is not an object';
    if (problem) throw new InvalidArgumentError('memo', `${problem}; memo values must be JSON values`);
  }
  return {
    workflowType,
    workflowId,
    ...(options.taskQueue !== undefined ? { taskQueue: options.taskQueue } : {}),
    args,
    parentClosePolicy: resolveParentClosePolicy(options.parentClosePolicy),
    cancellationType: resolveChildCancellationType(options.cancellationType),
    ...(options.searchAttributes !== undefined ? { searchAttributes: normalizeSearchAttributes(options.searchAttributes, 'searchAttributes') } : {}),
    ...(memo !== undefined ? { memo: JSON.parse(JSON.stringify(memo)) as Record<string, unknown> } : {}),
    ...optionalMs('workflowExecutionTimeoutMs', options.workflowExecutionTimeout, 'workflowExecutionTimeout'),
    ...optionalMs('workflowRunTimeoutMs', options.workflowRunTimeout, 'workflowRunTimeout'),
  };
}

/** `{ [key]: ms }` for a positive duration, `{}` when unset. */
export function optionalMs<K extends string>(key: K, value: Duration | undefined, field: string): Partial<Record<K, number>> {
  if (value === undefined) return {};
  const ms = parseDuration(value, field);
  if (ms <= 0) throw new InvalidArgumentError(field, `${JSON.stringify(value)} must be a positive duration, for example '1 hour'`);
  return { [key]: ms } as Partial<Record<K, number>>;
}
