/**
 * The message definitions a handle accepts: what `defineSignal`, `defineQuery` and
 * `defineUpdate` of `chronicle/workflow` return (plain `{ type, name }` objects, so they can
 * be imported from a workflow file in plain Node), or just the name as a string. The types are
 * the workflow SDK's own, so a definition's argument and result types flow into
 * `handle.signal`, `query` and `executeUpdate`.
 */
import { InvalidArgumentError } from '../../engine/protocol/errors.js';

export type { QueryDefinition, SignalDefinition, UpdateDefinition } from '../workflow/definitions.js';

/** The message name of a definition or name; throws InvalidArgumentError (field `what`) for anything else. */
export function messageName(def: unknown, what: 'signal' | 'query' | 'update'): string {
  if (typeof def === 'string' && def.length > 0) return def;
  if (typeof def === 'object' && def !== null && typeof (def as { name?: unknown }).name === 'string' && (def as { name: string }).name.length > 0) {
    const type = (def as { type?: unknown }).type;
    if (type === undefined || type === what) return (def as { name: string }).name;
    throw new InvalidArgumentError(what, `expected a ${what} definition (define${capitalize(what)}) or a ${what} name, got a ${String(type)} definition '${(def as { name: string }).name}'`);
  }
  throw new InvalidArgumentError(what, `expected a ${what} definition (define${capitalize(what)}(name)) or a non-empty ${what} name, got ${def === null ? 'null' : typeof def}`);
}

function capitalize(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}
