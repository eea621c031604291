import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db/database.js';
import { InvalidArgumentError } from './errors.js';
import type { SearchAttributes, SearchAttributeValue } from './protocol/index.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Temporal's search attribute types (chronicle.search_attribute_types.type). */
import type { SearchAttributeType } from './engine.js';
export type { SearchAttributeType };

export const SEARCH_ATTRIBUTE_TYPES: readonly SearchAttributeType[] = ['Keyword', 'Text', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'];

/**
 * Names the list filter already uses for a run's own fields (engine/visibility): a search
 * attribute of the same name could never be filtered on, so declaring one is refused.
 */
const RESERVED_NAMES = new Set([
  'WorkflowId', 'RunId', 'WorkflowType', 'ExecutionStatus', 'StartTime', 'CloseTime', 'ExecutionTime', 'TaskQueue',
  'HistoryLength', 'HistorySizeBytes', 'ParentWorkflowId', 'ParentRunId', 'BuildIds', 'NamespaceId', 'TemporalChangeVersion',
]);

/** An identifier the list filter language can spell without quoting. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

/** A namespace's declared search attributes, name → type. */
export type SearchAttributeTypes = ReadonlyMap<string, SearchAttributeType>;

/** Reads the declared search attributes of a namespace (a handful of rows). */
export async function getSearchAttributeTypes(db: Db, namespace: string): Promise<SearchAttributeTypes> {
  const rows = await db.selectFrom('chronicle.search_attribute_types').select(['name', 'type']).where('namespace', '=', namespace).execute();
  return new Map(rows.map((r) => [r.name, r.type]));
}

/**
 * Declares search attributes in a namespace (Temporal's `operatorService.addSearchAttributes`).
 * Declaring an attribute again with the same type is a no-op; with another type it is refused
 * (InvalidArgumentError naming it), since runs may already hold values of the old type.
 *
 * @example
 * await addSearchAttributes(db, 'default', { CustomerId: 'Keyword', Amount: 'Double' });
 */
export async function addSearchAttributes(db: Db, namespace: string, attributes: Readonly<Record<string, SearchAttributeType>>): Promise<void> {
  const entries = Object.entries(attributes);
  for (const [name, type] of entries) {
    const field = `searchAttributes.${name}`;
    if (!NAME.test(name)) throw new InvalidArgumentError(field, 'a search attribute name must start with a letter or _ and hold only letters, digits and _ (at most 100)');
    if (RESERVED_NAMES.has(name)) throw new InvalidArgumentError(field, `'${name}' is a built-in field of the list filter; choose another name`);
    if (!SEARCH_ATTRIBUTE_TYPES.includes(type)) throw new InvalidArgumentError(field, `type must be one of ${SEARCH_ATTRIBUTE_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  }
  if (entries.length === 0) return;
  // Insert-first: concurrent declarations of one name settle on the primary key, and the
  // read after it sees whichever type won.
  await sql`
    INSERT INTO chronicle.search_attribute_types (namespace, name, type)
    SELECT ${namespace}, n, t FROM unnest(${entries.map((e) => e[0])}::text[], ${entries.map((e) => e[1])}::text[]) AS x(n, t)
    ON CONFLICT (namespace, name) DO NOTHING`.execute(db);
  const declared = await getSearchAttributeTypes(db, namespace);
  for (const [name, type] of entries) {
    const existing = declared.get(name);
    if (existing !== type) {
      throw new InvalidArgumentError(`searchAttributes.${name}`, `is already declared as ${existing}; a declared type cannot change (declare a new name instead)`);
    }
  }
}

/** True when the value has any search attributes to check (saves the registry read otherwise). */
export function hasSearchAttributes(attrs: SearchAttributes | undefined): attrs is SearchAttributes {
  return attrs !== undefined && attrs !== null && Object.keys(attrs).length > 0;
}

/**
 * Checks search attributes against the namespace's declarations and returns them normalized
 * (Datetime values as ISO 8601 UTC strings, so that they compare as text in time order).
 * Each key maps to an array of values (Temporal's legacy shape); an empty array means
 * "remove this key" for an upsert and is dropped for a start. Throws InvalidArgumentError
 * naming the attribute: unknown (with the declared names), or a value of the wrong type.
 */
export function validateSearchAttributes(field: string, attrs: unknown, types: SearchAttributeTypes, opts: { forUpsert?: boolean } = {}): SearchAttributes {
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
    throw new InvalidArgumentError(field, `must be an object mapping attribute names to arrays of values, got ${Array.isArray(attrs) ? 'an array' : typeof attrs}`);
  }
  const out: Record<string, SearchAttributeValue[]> = {};
  for (const [name, raw] of Object.entries(attrs)) {
    const f = `${field}.${name}`;
    const type = types.get(name);
    if (!type) {
      const known = [...types.keys()].sort();
      throw new InvalidArgumentError(
        f,
        `is not a declared search attribute of this namespace (declared: ${known.length ? known.join(', ') : 'none'}). ` +
          `Declare it first (addSearchAttributes / chronicle.search_attribute_types)`,
      );
    }
    const values = Array.isArray(raw) ? raw : [raw];
    if (values.length === 0) {
      if (opts.forUpsert) out[name] = [];
      continue;
    }
    out[name] = values.map((v, i) => normalizeValue(`${f}[${i}]`, type, v));
  }
  return out;
}

function normalizeValue(field: string, type: SearchAttributeType, v: unknown): SearchAttributeValue {
  const wrong = (want: string): never => {
    throw new InvalidArgumentError(field, `must be ${want} (the attribute is declared ${type}), got ${JSON.stringify(v) ?? typeof v}`);
  };
  switch (type) {
    case 'Keyword':
    case 'KeywordList':
    case 'Text':
      return typeof v === 'string' ? v : wrong('a string');
    case 'Int':
      return typeof v === 'number' && Number.isSafeInteger(v) ? v : wrong('an integer');
    case 'Double':
      return typeof v === 'number' && Number.isFinite(v) ? v : wrong('a finite number');
    case 'Bool':
      return typeof v === 'boolean' ? v : wrong('true or false');
    case 'Datetime': {
      const ms = typeof v === 'string' ? Date.parse(v) : v instanceof Date ? v.getTime() : NaN;
      return Number.isFinite(ms) ? new Date(ms).toISOString() : wrong("an ISO 8601 time ('2024-05-01T12:00:00Z')");
    }
  }
}

/**
 * Applies an upsert to current attributes: each key of `delta` replaces the key's values,
 * an empty array removes the key (Temporal's legacy upsert). Pure; the completion does the
 * same in SQL (chronicle.merge_search_attributes, migrations/0004).
 */
export function mergeSearchAttributes(current: SearchAttributes, delta: SearchAttributes): SearchAttributes {
  const out: Record<string, readonly SearchAttributeValue[]> = { ...current };
  for (const [k, v] of Object.entries(delta)) {
    if (v.length === 0) delete out[k];
    else out[k] = v;
  }
  return out;
}
