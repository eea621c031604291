/**
 * The options of `client.workflow.start` / `execute` / `signalWithStart` and of
 * `WithStartWorkflowOperation`, with Temporal's names, and their translation into the engine's
 * `StartWorkflowRequest`. Validation happens here, before anything is sent, and names the
 * option at fault. PURE: no I/O.
 */
import type { StartWorkflowRequest } from '../../engine/engine.js';
import { parseDuration, type Duration } from '../../engine/protocol/durations.js';
import { InvalidArgumentError, PayloadNotSerializableError } from '../../engine/protocol/errors.js';
import type { SearchAttributes as EngineSearchAttributes, SearchAttributeValue as EngineSearchAttributeValue } from '../../engine/protocol/events.js';
import { findNonJsonValue } from '../../engine/protocol/payloads.js';
import type { Workflow, WithWorkflowArgs } from '../workflow/children.js';
import { toEngineConflictPolicy, toEngineReusePolicy, type WorkflowIdConflictPolicy, type WorkflowIdReusePolicy } from './policies.js';

// One definition of the workflow-function types for the client and the workflow SDK (child workflows).
export type { Workflow, WorkflowResultType, WithWorkflowArgs } from '../workflow/children.js';

/**
 * Search attributes as Temporal's legacy `searchAttributes` option takes them: each name maps
 * to an array of values (a single value is accepted and wrapped). Dates are sent as ISO
 * strings, as Temporal does. The names must be declared (docs/visibility.md); Temporal's
 * predeclared `CustomKeywordField`, `CustomIntField`, … exist in every namespace.
 */
export type SearchAttributes = Record<string, SearchAttributeValue | string | number | boolean | Date | undefined>;

/** One search attribute's values, as in Temporal's legacy `SearchAttributes`. */
export type SearchAttributeValue = readonly string[] | readonly number[] | readonly boolean[] | readonly Date[];

/**
 * The options every way of starting a workflow shares (Temporal's `WorkflowOptions`).
 *
 * Of Temporal's other options, `cronSchedule`, `retry`, `startDelay`, `typedSearchAttributes`
 * and `versioningOverride` are refused with InvalidArgumentError (each would change what the
 * workflow does); `workflowTaskTimeout`, `requestEagerStart`, `staticSummary`,
 * `staticDetails` and `priority` are accepted and ignored (Chronicle's workflow task timeout
 * is an engine setting).
 */
export interface WorkflowOptions {
  /**
   * Identifies the workflow: unique among open runs of the namespace. Choose a business key
   * (`order-${orderId}`) so a second start of the same thing is refused rather than doubled.
   */
  readonly workflowId: string;
  /** The task queue whose workers run the workflow. */
  readonly taskQueue: string;
  /** Whether the id may be reused once the previous run closed. Default `ALLOW_DUPLICATE`. */
  readonly workflowIdReusePolicy?: WorkflowIdReusePolicy;
  /**
   * What to do when a run with the id is open. Default `FAIL` for `start` and `execute`,
   * `USE_EXISTING` for `signalWithStart` (where `FAIL` is refused, as by Temporal's server);
   * required by `WithStartWorkflowOperation` (`USE_EXISTING` or `FAIL`).
   */
  readonly workflowIdConflictPolicy?: WorkflowIdConflictPolicy;
  /** Bound on the whole chain of runs (continue-as-new keeps the deadline); it then ends TIMED_OUT. */
  readonly workflowExecutionTimeout?: Duration;
  /** Bound on one run. */
  readonly workflowRunTimeout?: Duration;
  /** Typed, indexed attributes to find the run with `client.workflow.list({ query })`. */
  readonly searchAttributes?: SearchAttributes;
  /** Non-indexed JSON values shown by `describe()` and `list()`. */
  readonly memo?: Record<string, unknown>;
  /**
   * Whether `handle.result()` follows the chain of runs when the workflow continues as new
   * (default true). When false, a run that continued as new makes `result()` throw
   * `WorkflowContinuedAsNewError`.
   */
  readonly followRuns?: boolean;
}

/** Options of `client.workflow.start` and `execute`. */
export type WorkflowStartOptions<W extends Workflow = Workflow> = WithWorkflowArgs<W, WorkflowOptions>;

/**
 * Temporal start options Chronicle does not implement yet. Passing one is an error rather
 * than silently ignored, since each changes what the workflow does.
 */
const UNSUPPORTED_OPTIONS: Readonly<Record<string, string>> = {
  cronSchedule: 'cron workflows are not supported; start runs from a schedule or a timer loop in a workflow instead',
  retry: 'workflow retry policies are not supported; retry inside the workflow (activities retry on their own)',
  startDelay: 'delayed starts are not supported; sleep at the beginning of the workflow instead',
  typedSearchAttributes: 'typed search attributes are not supported yet; pass searchAttributes: { Name: [value] }',
  versioningOverride: 'worker versioning is not supported',
};

/** What a start needs besides the type: the engine request without `workflowType` and `identity`. */
export type CompiledStartOptions = Omit<StartWorkflowRequest, 'workflowType' | 'identity'>;

/**
 * Validates start options and turns them into the engine's request fields. Throws
 * `InvalidArgumentError` naming the option (`options.workflowRunTimeout`), having changed
 * nothing.
 *
 * @param defaultConflictPolicy what an unset `workflowIdConflictPolicy` means for this call.
 */
export function compileStartOptions(options: unknown, defaultConflictPolicy?: 'FAIL' | 'USE_EXISTING'): CompiledStartOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'is required: { workflowId, taskQueue, args }');
  }
  const o = options as Record<string, unknown>;
  for (const [name, why] of Object.entries(UNSUPPORTED_OPTIONS)) {
    if (o[name] !== undefined) throw new InvalidArgumentError(`options.${name}`, why);
  }
  const workflowId = requireName(o.workflowId, 'workflowId', "e.g. workflowId: `order-${orderId}`");
  const taskQueue = requireName(o.taskQueue, 'taskQueue', "the queue your worker polls, e.g. taskQueue: 'orders'");
  const args = compileArgs(o.args, 'args', 'must be an array of the workflow function’s arguments, e.g. args: [orderId]');
  const conflict = toEngineConflictPolicy(o.workflowIdConflictPolicy, 'workflowIdConflictPolicy') ?? defaultConflictPolicy;
  const reuse = toEngineReusePolicy(o.workflowIdReusePolicy, 'workflowIdReusePolicy');
  const executionTimeout = positiveDuration(o.workflowExecutionTimeout, 'workflowExecutionTimeout');
  const runTimeout = positiveDuration(o.workflowRunTimeout, 'workflowRunTimeout');
  const searchAttributes = compileSearchAttributes(o.searchAttributes, 'searchAttributes');
  const memo = compileMemo(o.memo, 'memo');
  if (o.followRuns !== undefined && typeof o.followRuns !== 'boolean') {
    throw new InvalidArgumentError('followRuns', `must be a boolean, got ${typeof o.followRuns}`);
  }
  return {
    workflowId,
    taskQueue,
    args,
    ...(conflict !== undefined ? { workflowIdConflictPolicy: conflict } : {}),
    ...(reuse !== undefined ? { workflowIdReusePolicy: reuse } : {}),
    ...(executionTimeout !== undefined ? { workflowExecutionTimeoutMs: executionTimeout } : {}),
    ...(runTimeout !== undefined ? { workflowRunTimeoutMs: runTimeout } : {}),
    ...(searchAttributes !== undefined ? { searchAttributes } : {}),
    ...(memo !== undefined ? { memo } : {}),
  };
}

/** A non-empty string option. */
export function requireName(value: unknown, field: string, hint: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    const got = value === undefined ? 'it is missing' : `got ${typeof value === 'string' ? "''" : typeof value}`;
    throw new InvalidArgumentError(field, `must be a non-empty string (${hint}); ${got}`);
  }
  return value;
}

/** An optional array of JSON values (arguments); undefined becomes []. */
export function compileArgs(value: unknown, field: string, hint = 'must be an array of arguments'): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, `${hint}; got ${typeof value}`);
  value.forEach((v, i) => checkPayload(v, `${field}[${i}]`));
  return [...value];
}

/** Throws PayloadNotSerializableError when `value` is not a JSON value. */
export function checkPayload(value: unknown, field: string): void {
  const problem = findNonJsonValue(value, field);
  if (problem !== undefined) throw new PayloadNotSerializableError(field, problem);
}

function positiveDuration(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = parseDuration(value, field);
  if (ms <= 0) throw new InvalidArgumentError(field, `must be positive, got ${String(value)}; leave it unset for no limit`);
  return ms;
}

/**
 * Search attributes in the engine's shape, `{ name: [values] }`. Single values are wrapped,
 * Dates become ISO strings, `undefined` entries are dropped. Whether a name is declared and
 * its values have the declared type is the engine's check.
 */
export function compileSearchAttributes(value: unknown, field: string): EngineSearchAttributes | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(field, `must be an object mapping attribute names to arrays of values, e.g. { CustomKeywordField: ['gold'] }; got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const out: Record<string, EngineSearchAttributeValue[]> = {};
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    out[name] = values.map((v, i) => searchAttributeValue(v, `${field}.${name}[${i}]`));
  }
  return out;
}

function searchAttributeValue(v: unknown, field: string): EngineSearchAttributeValue {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new InvalidArgumentError(field, 'is an invalid Date');
    return v.toISOString();
  }
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw new InvalidArgumentError(field, `must be a string, finite number, boolean or Date; got ${v === null ? 'null' : typeof v === 'number' ? String(v) : typeof v}`);
}

function compileMemo(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(field, `must be an object of JSON values, e.g. { customer: 'ada' }; got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    checkPayload(v, `${field}.${k}`);
    out[k] = v;
  }
  return out;
}
