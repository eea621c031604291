import { InvalidArgumentError } from '../../engine/protocol/errors.js';
import type { SearchAttributes, SearchAttributeValue } from '../../engine/protocol/events.js';
import { getActivator } from './context.js';

/** What workflow code may pass: like the stored shape, plus `Date` values (stored as ISO strings). */
export type SearchAttributesInput = Readonly<Record<string, ReadonlyArray<SearchAttributeValue | Date>>>;

/**
 * Merges `searchAttributes` into the workflow's search attributes, key by key: a key with an
 * array of values is set, a key with `[]` is removed, other keys are kept. The change is
 * visible at once in `workflowInfo().searchAttributes` and recorded in history
 * (UpsertWorkflowSearchAttributes); the engine indexes it for `workflow.list({ query })`.
 * Names must be declared search attributes of the namespace and values of their type, or the
 * engine refuses the workflow task (InvalidArgumentError naming the attribute).
 *
 * @example
 * upsertSearchAttributes({ CustomKeywordField: ['approved'], CustomIntField: [] });
 */
export function upsertSearchAttributes(searchAttributes: SearchAttributesInput): void {
  const activator = getActivator('upsertSearchAttributes()');
  activator.assertMayIssueCommands('upsertSearchAttributes()');
  const changes = normalizeSearchAttributes(searchAttributes, 'searchAttributes');
  const merged = { ...activator.searchAttributes };
  for (const [name, values] of Object.entries(changes)) {
    if (values.length === 0) delete merged[name];
    else merged[name] = values;
  }
  activator.searchAttributes = merged;
  activator.pushCommand({ kind: 'UpsertSearchAttributes', searchAttributes: changes });
}

/**
 * Checks search attributes and converts them to the stored shape (arrays of strings, finite
 * numbers and booleans; dates as ISO strings).
 * @throws InvalidArgumentError naming the attribute.
 */
export function normalizeSearchAttributes(input: unknown, field: string): SearchAttributes {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidArgumentError(field, `expected an object mapping attribute names to arrays of values, got ${describe(input)}`);
  }
  const out: Record<string, SearchAttributeValue[]> = {};
  for (const [name, values] of Object.entries(input)) {
    if (!Array.isArray(values)) {
      throw new InvalidArgumentError(`${field}.${name}`, `expected an array of values ([] removes the attribute), got ${describe(values)}`);
    }
    out[name] = values.map((v: unknown, i) => {
      if (v instanceof Date || (typeof v === 'object' && v !== null && typeof (v as Date).toISOString === 'function')) return (v as Date).toISOString();
      if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return v;
      throw new InvalidArgumentError(`${field}.${name}[${i}]`, `${describe(v)} is not a search attribute value; use strings, finite numbers, booleans or Dates`);
    });
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? 'an object' : String(value);
}
