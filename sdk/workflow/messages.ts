import { getActivator } from './context.js';
import type { QueryDefinition, SignalDefinition, UpdateDefinition } from './definitions.js';
import { InvalidArgumentError } from '../../engine/protocol/errors.js';

/** Options of a signal handler. */
export interface SignalHandlerOptions {
  /** Shown by Temporal-compatible tools (`__temporal_workflow_metadata`). */
  readonly description?: string;
}

/** Options of a query handler. */
export interface QueryHandlerOptions {
  readonly description?: string;
}

/** Options of an update handler. */
export interface UpdateHandlerOptions<Args extends any[]> {
  /**
   * Runs before the update is accepted, with the same arguments, and must be synchronous:
   * throwing rejects the update and nothing is written to history (the caller gets the
   * error). Not run when the update is replayed. An `async` validator's rejection does not
   * reject the update (as in Temporal).
   */
  readonly validator?: (...args: Args) => void;
  readonly description?: string;
}

/**
 * Registers (or, with `undefined`, removes) the handler of a signal, query or update.
 *
 * - **Signal**: may be `async`, may run activities, timers and `condition`. Signals that
 *   arrived before the handler existed are buffered, never dropped, and are dispatched inside
 *   this call (in arrival order), before it returns. An error thrown by the handler is handled
 *   like one thrown by the workflow function (a TemporalFailure fails the workflow, anything
 *   else the workflow task).
 * - **Query**: must be synchronous, must only read state, and sees workflow time
 *   (`Date.now()`); it may run on a closed workflow. Calling a workflow API that issues a
 *   command (an activity, `sleep`, …) fails the query.
 * - **Update**: optional `validator` (see UpdateHandlerOptions); once accepted the handler
 *   runs (it may be `async` and run activities); its return value answers the caller; a
 *   TemporalFailure (e.g. ApplicationFailure) thrown by it fails only the update, any other
 *   error fails the workflow task. An update whose handler is not registered by the end of the
 *   activation that delivers it is rejected.
 *
 * Register handlers before the workflow's first `await`, so that they exist when the first
 * messages are delivered.
 *
 * @example
 * export const approve = defineSignal<[string]>('approve');
 * export const status = defineQuery<string>('status');
 * export async function approval(): Promise<string> {
 *   let approver: string | undefined;
 *   setHandler(approve, (who) => void (approver = who));
 *   setHandler(status, () => (approver ? `approved by ${approver}` : 'waiting'));
 *   await condition(() => approver !== undefined);
 *   return approver!;
 * }
 */
export function setHandler<Args extends any[]>(
  def: SignalDefinition<Args, string>,
  handler: ((...args: NoInfer<Args>) => void | Promise<void>) | undefined,
  options?: SignalHandlerOptions,
): void;
export function setHandler<Ret, Args extends any[]>(
  def: QueryDefinition<Ret, Args, string>,
  handler: ((...args: NoInfer<Args>) => NoInfer<Ret>) | undefined,
  options?: QueryHandlerOptions,
): void;
export function setHandler<Ret, Args extends any[]>(
  def: UpdateDefinition<Ret, Args, string>,
  handler: ((...args: NoInfer<Args>) => NoInfer<Ret> | Promise<NoInfer<Ret>>) | undefined,
  options?: UpdateHandlerOptions<NoInfer<Args>>,
): void;
export function setHandler(
  def: SignalDefinition<any[]> | QueryDefinition<unknown, any[]> | UpdateDefinition<unknown, any[]>,
  handler: ((...args: any[]) => unknown) | undefined,
  options?: { readonly description?: string; readonly validator?: (...args: any[]) => unknown },
): void {
  const messages = getActivator('setHandler()').messages;
  if (handler !== undefined && typeof handler !== 'function') {
    throw new InvalidArgumentError('handler', `setHandler(${def?.type} '${def?.name}'): the handler must be a function, or undefined to remove it; got ${typeof handler}`);
  }
  const description = options?.description;
  switch (def?.type) {
    case 'signal':
      messages.setSignalHandler(def.name, handler, description);
      return;
    case 'query':
      messages.setQueryHandler(def.name, handler, description);
      return;
    case 'update':
      if (options?.validator !== undefined && typeof options.validator !== 'function') {
        throw new InvalidArgumentError('options.validator', `setHandler(update '${def.name}'): the validator must be a function, got ${typeof options.validator}`);
      }
      messages.setUpdateHandler(def.name, handler, options?.validator, description);
      return;
    default:
      throw new InvalidArgumentError('def', `setHandler needs a definition made by defineSignal, defineQuery or defineUpdate, got ${JSON.stringify(def)}`);
  }
}

/**
 * True when no signal or update handler is running (Temporal's `allHandlersFinished`). Wait
 * for it with `condition` before returning or continuing-as-new, so that async handlers are
 * not cut short.
 *
 * @example
 * await condition(allHandlersFinished);
 */
export function allHandlersFinished(): boolean {
  return getActivator('allHandlersFinished()').messages.handlersRunning === 0;
}

