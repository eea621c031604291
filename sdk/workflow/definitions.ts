/**
 * Message definitions (Temporal's `defineSignal`, `defineQuery`, `defineUpdate`): typed names
 * that a workflow registers handlers for and a client sends. Plain data, no workflow context
 * needed: define them at module top level and import them from client code too.
 */
import { InvalidArgumentError } from '../../engine/protocol/errors.js';

declare const argsBrand: unique symbol;
declare const retBrand: unique symbol;

/** A signal: a one-way, asynchronous message that may change workflow state. */
export interface SignalDefinition<Args extends any[] = [], Name extends string = string> {
  readonly type: 'signal';
  readonly name: Name;
  /** Type-level only: the handler's arguments. */
  readonly [argsBrand]?: Args;
}

/** A query: a synchronous, read-only question answered from the workflow's current state. */
export interface QueryDefinition<Ret, Args extends any[] = [], Name extends string = string> {
  readonly type: 'query';
  readonly name: Name;
  readonly [argsBrand]?: Args;
  readonly [retBrand]?: Ret;
}

/** An update: a request the workflow may validate, accept, handle (asynchronously) and answer. */
export interface UpdateDefinition<Ret, Args extends any[] = [], Name extends string = string> {
  readonly type: 'update';
  readonly name: Name;
  readonly [argsBrand]?: Args;
  readonly [retBrand]?: Ret;
}

/**
 * Defines a signal by name. The type parameters describe the handler's arguments.
 *
 * @example
 * export const approve = defineSignal<[approver: string]>('approve');
 */
export function defineSignal<Args extends any[] = [], Name extends string = string>(name: Name): SignalDefinition<Args, Name> {
  return { type: 'signal', name: checkName(name, 'defineSignal') };
}

/**
 * Defines a query by name: `Ret` is what the handler returns.
 *
 * @example
 * export const status = defineQuery<string>('status');
 */
export function defineQuery<Ret, Args extends any[] = [], Name extends string = string>(name: Name): QueryDefinition<Ret, Args, Name> {
  return { type: 'query', name: checkName(name, 'defineQuery') };
}

/**
 * Defines an update by name: `Ret` is what the handler returns to the caller.
 *
 * @example
 * export const addItem = defineUpdate<number, [item: string]>('addItem');
 */
export function defineUpdate<Ret, Args extends any[] = [], Name extends string = string>(name: Name): UpdateDefinition<Ret, Args, Name> {
  return { type: 'update', name: checkName(name, 'defineUpdate') };
}

function checkName<N extends string>(name: N, api: string): N {
  if (typeof name !== 'string' || name === '') {
    throw new InvalidArgumentError('name', `${api}(name) needs a non-empty string, got ${JSON.stringify(name)}`);
  }
  return name;
}
