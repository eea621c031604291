/**
 * Compiles a parsed list filter (list-filter.ts) into a parameterized SQL condition over
 * `chronicle.executions`. PURE: it needs the namespace's declared search attribute types,
 * which the caller loads, and produces kysely `sql` fragments in which every value from the
 * filter is a bound parameter, never text spliced into the statement.
 *
 * Semantics (docs/visibility.md): every predicate is two-valued. A comparison with a value
 * the run does not have (a search attribute it never set, the CloseTime of an open run) is
 * false, `!=` included; `NOT p` is true exactly when `p` is false.
 */
import { sql, type RawBuilder } from 'kysely';
import type { WorkflowExecutionStatus } from '../engine.js';
import type { SearchAttributeType } from '../search-attributes.js';
import { ListFilterError, type ComparisonOperator, type FieldRef, type FilterNode, type ListFilter, type Literal } from './list-filter.js';

type SystemType = 'Keyword' | 'RunId' | 'Status' | 'Datetime' | 'Int';

interface SystemField {
  readonly type: SystemType;
  /** The SQL expression over chronicle.executions. */
  readonly column: RawBuilder<unknown>;
  /** May be NULL: comparisons are wrapped so that NULL reads as false. */
  readonly nullable: boolean;
}

/** The built-in fields, with Temporal's names. */
export const SYSTEM_FIELDS: Readonly<Record<string, SystemField>> = {
  WorkflowId: { type: 'Keyword', column: sql`workflow_id`, nullable: false },
  RunId: { type: 'RunId', column: sql`run_id`, nullable: false },
  WorkflowType: { type: 'Keyword', column: sql`workflow_type`, nullable: false },
  TaskQueue: { type: 'Keyword', column: sql`task_queue`, nullable: false },
  ExecutionStatus: { type: 'Status', column: sql`status`, nullable: false },
  StartTime: { type: 'Datetime', column: sql`started_at`, nullable: false },
  CloseTime: { type: 'Datetime', column: sql`closed_at`, nullable: true },
  HistoryLength: { type: 'Int', column: sql`(next_event_id - 1)`, nullable: false },
  HistorySizeBytes: { type: 'Int', column: sql`history_size_bytes`, nullable: false },
  ParentWorkflowId: { type: 'Keyword', column: sql`parent_workflow_id`, nullable: true },
  ParentRunId: { type: 'RunId', column: sql`parent_run_id`, nullable: true },
};

/** Fields a listing can be ordered by, and the sort expression (open runs' CloseTime sorts as +infinity). */
export const ORDER_FIELDS = {
  StartTime: sql`started_at`,
  CloseTime: sql`COALESCE(closed_at, 'infinity'::timestamptz)`,
} as const;
export type OrderField = keyof typeof ORDER_FIELDS;

export interface CompiledFilter {
  /** The condition; absent when the filter has none (every run matches). */
  readonly where?: RawBuilder<unknown>;
  readonly orderBy: { readonly field: OrderField; readonly direction: 'ASC' | 'DESC' };
}

/** Temporal's ExecutionStatus spellings (and Chronicle's) → the stored status. */
const STATUS_NAMES: ReadonlyMap<string, WorkflowExecutionStatus> = new Map([
  ['running', 'RUNNING'],
  ['completed', 'COMPLETED'],
  ['failed', 'FAILED'],
  ['canceled', 'CANCELLED'],
  ['cancelled', 'CANCELLED'],
  ['terminated', 'TERMINATED'],
  ['continuedasnew', 'CONTINUED_AS_NEW'],
  ['timedout', 'TIMED_OUT'],
]);
const STATUS_LIST = "'Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'ContinuedAsNew', 'TimedOut'";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// RFC 3339 / ISO 8601: a date, or a date and time with an explicit zone.
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

type Op = 'eq' | 'ne' | 'range' | 'in' | 'between' | 'startsWith' | 'isNull';

const OPS_BY_TYPE: Readonly<Record<SystemType | SearchAttributeType, readonly Op[]>> = {
  Keyword: ['eq', 'ne', 'range', 'in', 'between', 'startsWith', 'isNull'],
  RunId: ['eq', 'ne', 'in', 'startsWith', 'isNull'],
  Status: ['eq', 'ne', 'in', 'isNull'],
  Datetime: ['eq', 'ne', 'range', 'in', 'between', 'isNull'],
  Int: ['eq', 'ne', 'range', 'in', 'between', 'isNull'],
  Double: ['eq', 'ne', 'range', 'in', 'between', 'isNull'],
  Bool: ['eq', 'ne', 'isNull'],
  Text: ['eq', 'ne', 'isNull'],
  KeywordList: ['eq', 'ne', 'in', 'startsWith', 'isNull'],
};
const OP_SPELLING: Readonly<Record<Op, string>> = {
  eq: '=',
  ne: '!=',
  range: '<, <=, >, >=',
  in: 'IN, NOT IN',
  between: 'BETWEEN, NOT BETWEEN',
  startsWith: 'STARTS_WITH',
  isNull: 'IS NULL, IS NOT NULL',
};

/** A field resolved against the system fields and the namespace's search attributes. */
type Resolved =
  | { readonly source: 'system'; readonly name: string; readonly type: SystemType; readonly field: SystemField }
  | { readonly source: 'attribute'; readonly name: string; readonly type: SearchAttributeType };

export type { SearchAttributeType };

/**
 * Compiles `filter`. `attributeTypes` are the namespace's declared search attributes
 * (name → type). Throws ListFilterError naming the position, the field or value, and the fix.
 */
export function compileListFilter(filter: ListFilter, attributeTypes: ReadonlyMap<string, SearchAttributeType>): CompiledFilter {
  const c = new Compiler(attributeTypes);
  let orderBy: CompiledFilter['orderBy'] = { field: 'StartTime', direction: 'DESC' };
  if (filter.orderBy) {
    const { field, direction } = filter.orderBy;
    if (!(field.name in ORDER_FIELDS)) {
      throw new ListFilterError(
        field.position,
        `cannot order by '${field.name}' (position ${field.position}); ORDER BY takes StartTime or CloseTime, ASC or DESC`,
      );
    }
    orderBy = { field: field.name as OrderField, direction };
  }
  return { ...(filter.where ? { where: c.node(filter.where) } : {}), orderBy };
}

class Compiler {
  constructor(private readonly attributes: ReadonlyMap<string, SearchAttributeType>) {}

  node(n: FilterNode): RawBuilder<unknown> {
    switch (n.kind) {
      case 'And':
        return sql`(${this.node(n.left)} AND ${this.node(n.right)})`;
      case 'Or':
        return sql`(${this.node(n.left)} OR ${this.node(n.right)})`;
      case 'Not':
        return sql`(NOT ${this.node(n.operand)})`;
      case 'Compare': {
        const f = this.resolve(n.field);
        const op = n.op === '=' ? 'eq' : n.op === '!=' ? 'ne' : 'range';
        this.allow(f, n.field, op, n.op);
        const v = this.value(f, n.value, op);
        return f.source === 'system' ? systemCompare(f, n.op, v) : this.attributeCompare(f, n.op, v);
      }
      case 'In': {
        const f = this.resolve(n.field);
        this.allow(f, n.field, 'in', n.negated ? 'NOT IN' : 'IN');
        const vs = n.values.map((l) => this.value(f, l, 'in'));
        if (f.source === 'system') {
          const e = sql`${f.field.column} ${n.negated ? sql`NOT IN` : sql`IN`} (${sql.join(vs.map((v) => param(f.type, v)))})`;
          return f.field.nullable ? sql`COALESCE(${e}, false)` : sql`(${e})`;
        }
        const any = sql.join(vs.map((v) => this.attributeEquals(f, v)), sql` OR `);
        return n.negated ? sql`(${hasAttribute(f.name)} AND NOT (${any}))` : sql`(${any})`;
      }
      case 'Between': {
        const f = this.resolve(n.field);
        this.allow(f, n.field, 'between', n.negated ? 'NOT BETWEEN' : 'BETWEEN');
        const lo = this.value(f, n.low, 'between');
        const hi = this.value(f, n.high, 'between');
        const kw = n.negated ? sql`NOT BETWEEN` : sql`BETWEEN`;
        if (f.source === 'system') {
          const e = sql`${f.field.column} ${kw} ${param(f.type, lo)} AND ${param(f.type, hi)}`;
          return f.field.nullable ? sql`COALESCE(${e}, false)` : sql`(${e})`;
        }
        return anyElement(f, (v) => sql`${v} ${kw} ${param(f.type, lo)} AND ${param(f.type, hi)}`);
      }
      case 'StartsWith': {
        const f = this.resolve(n.field);
        this.allow(f, n.field, 'startsWith', 'STARTS_WITH');
        const prefix = this.value(f, n.prefix, 'startsWith');
        if (f.source === 'system') {
          const e = sql`starts_with(${f.field.column}::text, ${prefix})`;
          return f.field.nullable ? sql`COALESCE(${e}, false)` : e;
        }
        return anyElement({ ...f, type: 'Keyword' }, (v) => sql`starts_with(${v}, ${prefix})`);
      }
      case 'IsNull': {
        const f = this.resolve(n.field);
        if (f.source === 'system') return sql`(${f.field.column} ${n.negated ? sql`IS NOT NULL` : sql`IS NULL`})`;
        return n.negated ? hasAttribute(f.name) : sql`(NOT ${hasAttribute(f.name)})`;
      }
    }
  }

  private resolve(ref: FieldRef): Resolved {
    const system = Object.prototype.hasOwnProperty.call(SYSTEM_FIELDS, ref.name) ? SYSTEM_FIELDS[ref.name] : undefined;
    if (system) return { source: 'system', name: ref.name, type: system.type, field: system };
    const type = this.attributes.get(ref.name);
    if (type) return { source: 'attribute', name: ref.name, type };
    const all = [...Object.keys(SYSTEM_FIELDS), ...this.attributes.keys()];
    const near = all.find((k) => k.toLowerCase() === ref.name.toLowerCase());
    const declared = [...this.attributes].map(([k, t]) => `${k} (${t})`).sort();
    throw new ListFilterError(
      ref.position,
      `unknown field '${ref.name}' at position ${ref.position}` +
        (near ? `; did you mean '${near}'? Field names are case-sensitive.` : '.') +
        ` Fields: ${Object.keys(SYSTEM_FIELDS).join(', ')}; declared search attributes: ${declared.length ? declared.join(', ') : 'none'}.` +
        (near ? '' : ' A search attribute must be declared (chronicle.search_attribute_types) before runs can be filtered by it.'),
    );
  }

  private allow(f: Resolved, ref: FieldRef, op: Op, spelled: string): void {
    const ops = OPS_BY_TYPE[f.type];
    if (ops.includes(op)) return;
    throw new ListFilterError(
      ref.position,
      `operator ${spelled} cannot be used with ${describeField(f)} (position ${ref.position}); it supports ${ops.map((o) => OP_SPELLING[o]).join(', ')}`,
    );
  }

  /** Checks and converts a literal to the JS value bound for the field's type. */
  private value(f: Resolved, l: Literal, op: Op): string | number | boolean {
    const at = `at position ${l.position}`;
    const shown = l.kind === 'string' ? `'${l.value}'` : String(l.kind === 'number' ? l.text : l.value);
    const wrong = (want: string): never => {
      throw new ListFilterError(l.position, `${describeField(f)} needs ${want}, got ${shown} ${at}`);
    };
    switch (f.type) {
      case 'Keyword':
      case 'Text':
      case 'KeywordList':
        if (l.kind !== 'string') wrong(`a quoted string ('${shown}')`);
        return l.value as string;
      case 'RunId': {
        if (l.kind !== 'string') wrong('a quoted run id (a UUID)');
        const s = l.value as string;
        if (op !== 'startsWith' && !UUID.test(s)) wrong("a run id (a UUID such as '0b0e7a36-2f1c-4c1a-9a57-3f4f3c1e2d10')");
        return s.toLowerCase();
      }
      case 'Status': {
        if (l.kind !== 'string') wrong(`a quoted status (${STATUS_LIST})`);
        const status = STATUS_NAMES.get((l.value as string).replace(/_/g, '').toLowerCase());
        if (!status) wrong(`one of ${STATUS_LIST}`);
        return status!;
      }
      case 'Datetime': {
        if (l.kind !== 'string') wrong("a quoted RFC 3339 time ('2024-05-01T12:00:00Z') or date ('2024-05-01')");
        return datetime(l.value as string, () =>
          wrong("an RFC 3339 time with a zone ('2024-05-01T12:00:00Z', '2024-05-01T14:00:00+02:00') or a date ('2024-05-01', midnight UTC)"),
        );
      }
      case 'Int':
        if (l.kind !== 'number' || !Number.isSafeInteger(l.value)) wrong('an integer, without quotes');
        return l.value as number;
      case 'Double':
        if (l.kind !== 'number') wrong('a number, without quotes');
        return l.value as number;
      case 'Bool':
        if (l.kind === 'boolean') return l.value;
        if (l.kind === 'string' && /^(true|false)$/i.test(l.value)) return l.value.toLowerCase() === 'true';
        return wrong('true or false');
    }
  }

  private attributeCompare(f: Resolved & { source: 'attribute' }, op: ComparisonOperator, v: string | number | boolean): RawBuilder<unknown> {
    if (op === '=') return this.attributeEquals(f, v);
    if (op === '!=') return sql`(${hasAttribute(f.name)} AND NOT ${this.attributeEquals(f, v)})`;
    // `op` is one of the parser's six operator tokens, never text from elsewhere.
    return anyElement(f, (e) => sql`${e} ${sql.raw(op)} ${param(f.type, v)}`);
  }

  /** `=` on a search attribute: containment (GIN-indexed) where jsonb equality is the right one. */
  private attributeEquals(f: Resolved & { source: 'attribute' }, v: string | number | boolean): RawBuilder<unknown> {
    switch (f.type) {
      case 'Keyword':
      case 'KeywordList':
      case 'Int':
      case 'Double':
      case 'Bool':
        // `search_attributes @> '{"Name": [value]}'`: served by the jsonb_path_ops GIN index
        // executions_search_attributes. jsonb compares numbers by value (5 matches 5.0).
        return sql`(search_attributes @> ${JSON.stringify({ [f.name]: [v] })}::jsonb)`;
      case 'Text':
        // Temporal matches whole words of a Text attribute; Chronicle matches a
        // case-insensitive substring (docs/visibility.md).
        return anyElement(f, (e) => sql`${e} ILIKE ${'%' + escapeLike(String(v)) + '%'}`);
      case 'Datetime':
        // Stored as text; compare as times so that any RFC 3339 spelling of an instant matches.
        return anyElement(f, (e) => sql`${e} = ${param('Datetime', v)}`);
    }
  }
}

function systemCompare(f: Resolved & { source: 'system' }, op: ComparisonOperator, v: string | number | boolean): RawBuilder<unknown> {
  // `op` is one of the parser's six operator tokens, never text from elsewhere.
  const e = sql`${f.field.column} ${sql.raw(op === '!=' ? '<>' : op)} ${param(f.type, v)}`;
  return f.field.nullable ? sql`COALESCE(${e}, false)` : sql`(${e})`;
}

function describeField(f: Resolved): string {
  if (f.source === 'system') {
    const t = f.type === 'RunId' ? 'a run id' : f.type === 'Status' ? 'the run status' : `a ${f.type}`;
    return `${f.name} (${t})`;
  }
  return `search attribute ${f.name} (${f.type})`;
}

/** A bound parameter with the cast its type needs. */
function param(type: SystemType | SearchAttributeType, v: string | number | boolean): RawBuilder<unknown> {
  switch (type) {
    case 'Datetime':
      return sql`${v}::timestamptz`;
    case 'RunId':
      return sql`${v}::uuid`;
    case 'Int':
    case 'Double':
      return sql`${v}::numeric`;
    case 'Bool':
      return sql`${v}::boolean`;
    default:
      return sql`${v}::text`;
  }
}

function hasAttribute(name: string): RawBuilder<unknown> {
  return sql`(search_attributes ? ${name}::text)`;
}

/**
 * True when some value of a (list-valued) search attribute satisfies `pred`, the value
 * typed for the attribute. Values of another JSON type (which the write-side validation
 * keeps out) never match instead of failing the statement: the CASE guards each cast.
 */
function anyElement(f: { name: string; type: SystemType | SearchAttributeType }, pred: (value: RawBuilder<unknown>) => RawBuilder<unknown>): RawBuilder<unknown> {
  const list = sql`CASE WHEN jsonb_typeof(search_attributes -> ${f.name}::text) = 'array' THEN search_attributes -> ${f.name}::text ELSE '[]'::jsonb END`;
  let typed: RawBuilder<unknown>;
  switch (f.type) {
    case 'Int':
    case 'Double':
      typed = sql`(CASE WHEN jsonb_typeof(v) = 'number' THEN (v #>> '{}')::numeric END)`;
      break;
    case 'Datetime':
      typed = sql`(CASE WHEN jsonb_typeof(v) = 'string' THEN (v #>> '{}')::timestamptz END)`;
      break;
    default:
      typed = sql`(CASE WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' END)`;
  }
  return sql`EXISTS (SELECT 1 FROM jsonb_array_elements(${list}) AS sa(v) WHERE ${pred(typed)})`;
}

/** Escapes LIKE's wildcards so that a value matches literally (backslash is the default escape). */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

/** Normalizes an RFC 3339 time (or a date, as midnight UTC) for a timestamptz parameter. */
function datetime(s: string, invalid: () => never): string {
  if (DATE_ONLY.test(s)) {
    if (Number.isNaN(Date.parse(s + 'T00:00:00Z'))) invalid();
    return `${s}T00:00:00Z`;
  }
  const m = DATE_TIME.exec(s);
  if (!m || !m[3]) return invalid();
  const [, date, time, rawZone] = m as unknown as [string, string, string, string];
  // '+02' and '+0200' → '+02:00', 'z' → 'Z': one spelling that both Date.parse and Postgres read.
  const zone = /^[zZ]$/.test(rawZone) ? 'Z' : rawZone.length === 3 ? `${rawZone}:00` : rawZone.length === 5 ? `${rawZone.slice(0, 3)}:${rawZone.slice(3)}` : rawZone;
  // Date.parse checks the calendar (no month 13); the text keeps its sub-millisecond digits.
  if (Number.isNaN(Date.parse(`${date}T${time.replace(/(\.\d{3})\d+$/, '$1')}${zone}`))) invalid();
  return `${date}T${time}${zone}`;
}
