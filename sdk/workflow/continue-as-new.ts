import type { ContinueAsNewCommand } from '../../engine/protocol/commands.js';
import type { Duration } from '../../engine/protocol/durations.js';
import { InvalidArgumentError, PayloadNotSerializableError } from '../../engine/protocol/errors.js';
import { optionalMs, type Workflow } from './children.js';
import { getActivator } from './context.js';
import { ContinueAsNew } from './runtime/continue-as-new.js';
import { normalizeSearchAttributes, type SearchAttributesInput } from './search-attributes.js';

export { ContinueAsNew };

/** Options of `makeContinueAsNewFunc` (Temporal's `ContinueAsNewOptions`, the ones Chronicle has). */
export interface ContinueAsNewOptions {
  /** Default: this run's workflow type. */
  readonly workflowType?: string;
  /** Default: this run's task queue. */
  readonly taskQueue?: string;
  /** Default: this run's current search attributes. */
  readonly searchAttributes?: SearchAttributesInput;
  readonly memo?: Readonly<Record<string, unknown>>;
  readonly workflowRunTimeout?: Duration;
}

/**
 * Closes this run and starts the next run of the same workflow id with these arguments and
 * a fresh history (Temporal's `continueAsNew`). Never returns: it rejects with
 * `ContinueAsNew`, which must escape the workflow function (`await` it, or `return` it).
 *
 * The arguments reach the next run as JSON, as every payload does: a `Map` or `Set` becomes
 * `{}`, a `Date` its ISO string. Wait for `allHandlersFinished` first when handlers may be
 * running, and continue as new when `workflowInfo().continueAsNewSuggested` turns true.
 *
 * @example
 * if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof counter>(state);
 */
export function continueAsNew<F extends Workflow>(...args: Parameters<F>): Promise<never> {
  return makeContinueAsNewFunc<F>()(...args);
}

/**
 * A `continueAsNew` with options: another workflow type or task queue, search attributes,
 * memo or run timeout for the next run.
 *
 * @example
 * await makeContinueAsNewFunc<typeof v2>({ workflowType: 'v2' })(state);
 */
export function makeContinueAsNewFunc<F extends Workflow>(options: ContinueAsNewOptions = {}): (...args: Parameters<F>) => Promise<never> {
  for (const key of ['workflowType', 'taskQueue'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new InvalidArgumentError(key, `expected a non-empty string, got ${JSON.stringify(value)}; omit it to keep this run's`);
    }
  }
  const searchAttributes = options.searchAttributes === undefined ? undefined : normalizeSearchAttributes(options.searchAttributes, 'searchAttributes');
  const memo = options.memo === undefined ? undefined : throughJson(options.memo, 'memo');
  const timeout = optionalMs('workflowRunTimeoutMs', options.workflowRunTimeout, 'workflowRunTimeout');
  return (...args: Parameters<F>): Promise<never> => {
    getActivator('continueAsNew()').assertMayIssueCommands('continueAsNew()');
    const command: ContinueAsNewCommand = {
      kind: 'ContinueAsNew',
      ...(options.workflowType !== undefined ? { workflowType: options.workflowType } : {}),
      ...(options.taskQueue !== undefined ? { taskQueue: options.taskQueue } : {}),
      args: throughJson(args, 'args') as unknown[],
      ...(searchAttributes !== undefined ? { searchAttributes } : {}),
      ...(memo !== undefined ? { memo: memo as Record<string, unknown> } : {}),
      ...timeout,
    };
    return Promise.reject(new ContinueAsNew(command));
  };
}

/** The value as JSON reads it back (Maps become {}); refuses what JSON cannot write at all. */
function throughJson(value: unknown, field: string): unknown {
  try {
    return JSON.parse(JSON.stringify(value) ?? 'null');
  } catch (err) {
    throw new PayloadNotSerializableError(field, `continueAsNew ${field}: ${(err as Error).message}`);
  }
}
